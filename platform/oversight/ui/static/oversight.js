// Oversight: small progressive enhancements. Every page works without this script.
(function () {
  "use strict";
  function words(seconds) {
    var s = Math.abs(Math.round(seconds)), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), r = s % 60;
    if (d) return d + (d === 1 ? " day" : " days") + (h ? " " + h + " h" : "");
    if (h) return h + " h" + (m ? " " + m + " min" : "");
    if (m) return m + " min" + (r && m < 5 ? " " + r + " s" : "");
    return r + " s";
  }
  // Times in the reader's own time zone; the UTC time stays in the title (hover).
  function localize(root) {
    var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); }
    });
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var delta = (new Date(el.getAttribute("data-countdown")).getTime() - now) / 1000;
      el.textContent = delta >= 0 ? "in " + words(delta) : words(delta) + " ago";
      el.classList.toggle("overdue", delta < 0);
    });
    document.querySelectorAll("[data-ready-at]").forEach(function (el) {
      var left = (new Date(el.getAttribute("data-ready-at")).getTime() - now) / 1000;
      var note = document.getElementById(el.getAttribute("data-note"));
      if (left > 0) {
        if (note) note.textContent = "Keep reading: you can decide in " + words(left) + ".";
      } else if (note && note.textContent) {
        note.textContent = "";
      }
    });
  }
  // The inbox refreshes its list in place; a polite live region says what is new.
  function poll(el) {
    var url = el.getAttribute("data-poll"), seconds = Number(el.getAttribute("data-poll-seconds") || 10);
    var known = el.getAttribute("data-ids") || "";
    setInterval(function () {
      fetch(url, { headers: { "Accept": "text/html", "X-Oversight-Fragment": "1" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var box = document.createElement("div");
          box.innerHTML = html;
          var fresh = box.firstElementChild;
          if (!fresh) return;
          var ids = fresh.getAttribute("data-ids") || "";
          if (ids === known) return;
          var before = known ? known.split(" ") : [], after = ids ? ids.split(" ") : [];
          var added = after.filter(function (id) { return before.indexOf(id) < 0; }).length;
          known = ids;
          el.innerHTML = fresh.innerHTML;
          el.setAttribute("data-ids", ids);
          localize(el); tick();
          var live = document.getElementById("live");
          if (live && added) live.textContent = added + (added === 1 ? " new request" : " new requests") + " waiting for you.";
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }, seconds * 1000);
  }
  // A confirmation for buttons that act on many things (the stop button).
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }
  // Forms say they are working and cannot be sent twice by a double click.
  function busy() {
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) return;
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          setTimeout(function () { b.disabled = true; b.classList.add("spinner"); }, 0);
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("[data-poll]").forEach(poll);
    confirmations();
    busy();
  });
})();

"""``oversight demo`` as a person meets it: the command serves the inbox with the development
provider; in Chromium a DBA signs in, steps up to MFA for the DROP, and is held to the review
time. The process is the real command, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.browser import axe_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    def __init__(self, url: str, output: Path) -> None:
        self.url, self.output = url, output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    output = home / "stdout.txt"
    with output.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "oversight.cli", "demo", "--port", str(port)],
                                   cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.3)
        yield Demo(url, output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, output.read_text()[-3000:]


def test_the_demo_prints_where_to_go_and_who_to_be(demo):
    text = demo.output.read_text()
    assert f"Open {demo.url}/ and sign in as" in text
    for subject in ("riley", "dana", "dmitri", "dora", "sam", "ava", "tara", "adam"):
        assert re.search(rf"^  {subject}\s", text, re.M), subject
    assert "DEVELOPMENT ONLY" in text


def test_a_dba_steps_up_for_the_drop_and_is_held_to_the_review_time(demo, chromium, axe_source):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(demo.url + "/")
        page.get_by_role("link", name="Sign in with your company account").click()
        page.get_by_role("button", name="Dmitri DBA").click()
        page.wait_for_url(demo.url + "/")
        waiting = page.locator("#inbox-list").inner_text()
        assert "DELETE on production" in waiting and "DROP on production" in waiting
        assert "trip" not in waiting.lower()  # the travel requests are not a DBA's
        assert axe_violations(page, axe_source) == []

        page.locator("#inbox-list").get_by_role("link", name=re.compile("DROP")).click()
        request_url = page.url
        assert "stronger sign-in" in page.locator("section.decide").inner_text()
        page.get_by_role("link", name="Sign in again with a stronger method").click()
        assert "Step-up requested" in page.content()  # the development provider's page
        page.get_by_role("button", name="Dmitri DBA").click()
        page.wait_for_url(request_url)
        assert "at least 30 s of review" in page.locator("#review-note").inner_text()
        screenshot(page, "demo-drop-after-step-up")
        page.get_by_role("button", name="Approve", exact=True).click()
        assert "30 s of review" in page.get_by_role("alert").inner_text()
    finally:
        context.close()

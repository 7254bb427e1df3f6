"""Debian's headless Chromium driven by Playwright, and axe-core from npm.

Never ``playwright install`` (it downloads a browser, which fails here): the tests drive
``/usr/bin/chromium``. Under ``CI=true`` a missing Chromium or axe-core fails the run; outside
CI the browser tests skip with a loud reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("OVERSIGHT_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE_DIR = Path(__file__).resolve().parents[1] / "ui" / "browser"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs the browser tests: {reason}", pytrace=False)
    pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium, for one test module: Playwright's sync
    API keeps an event loop running in the main thread until it stops, and an async test
    collected after it could not start its own."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args,
                                             headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (``npm ci`` in tests/ui/browser on first use)."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is missing, so axe-core cannot be installed")
        result = subprocess.run([str(npm), "ci", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR)],
                                capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0 or not AXE_SCRIPT.exists():
            _unavailable(f"npm ci for axe-core failed: {result.stderr.strip()[-500:]}")
    return AXE_SCRIPT.read_text()


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page (WCAG 2.0/2.1 A and AA rules)."""
    page.evaluate(axe_source)  # over the DevTools protocol: the page's CSP does not apply
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/screenshots/ (docs pick the best)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

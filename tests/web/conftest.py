"""Fixtures of the browser test: the real web service and Debian's chromium.

The page is served by the real web/API service (`desk.start("web")`) and talks
to the real Rasa server of the `desk` fixture through its socketio channel.
Chromium is Debian's /usr/bin/chromium (installed by ops/install_browser.sh),
driven by Playwright; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright

import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A reply may wait for the action server and the database (and a cold model on
# the first turn): waits are generous; the test asserts behaviour, not speed.
WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def chat_url(desk) -> str:
    """The chat page of a real web/API service wired to the desk's Rasa server."""
    desk.start("web")
    yield desk.web_url + "/"
    desk.stop("web")


@pytest.fixture(scope="module")
def playwright() -> Playwright:
    with sync_playwright() as instance:
        yield instance


def save_screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/ for a human to look at."""
    path = settings.get().var_dir / "screenshots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot():
    return save_screenshot


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call" and report.failed:
        item.browser_test_failed = True


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path, request) -> BrowserContext:
    """A fresh chromium profile (its own localStorage) per test; screenshots of its pages on failure."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ops/install_browser.sh")
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        locale="zh-CN",
        viewport={"width": 1280, "height": 860},
    )
    context.set_default_timeout(WAIT_MS)
    yield context
    if getattr(request.node, "browser_test_failed", False):
        for number, page in enumerate(context.pages):
            save_screenshot(page, f"failed-{request.node.name}-{number}.png")
    context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Page:
    """The profile's first tab."""
    return browser.pages[0] if browser.pages else browser.new_page()


AXE = settings.ROOT / "web/static/vendor/axe.min.js"  # axe-core from npm, vendored by ops/vendor_web.sh
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's WCAG 2.1 A/AA check of the page as it is now: the serious and critical violations, one line each."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run ops/vendor_web.sh")
    page.add_script_tag(url="/static/vendor/axe.min.js")  # a same-origin file: the pages' CSP allows no inline script
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [f"{v['impact']} {v['id']}: {v['help']} ({', '.join(str(n['target']) for n in v['nodes'][:3])})"
            for v in result["violations"] if v["impact"] in impacts]

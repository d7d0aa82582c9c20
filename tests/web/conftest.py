"""Fixtures of the browser test: the real web service and Debian's chromium.

The page is served by the real web/API service (`desk.start("web")`) and talks
to the real Rasa server of the `desk` fixture through its socketio channel.
Chromium is Debian's /usr/bin/chromium (installed by ops/install_browser.sh),
driven by Playwright; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Playwright, expect, sync_playwright

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


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path) -> BrowserContext:
    """A fresh chromium profile (its own localStorage) per test."""
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
    context.close()

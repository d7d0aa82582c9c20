"""The chat page in a real browser: real web service, real Rasa (socketio), real actions and database.

Screenshots go to var/screenshots/ for a human to look at.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, expect

from tests.harness import free_port

MESSAGES = "#chat-messages > li"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def wait_online(page: Page) -> None:
    expect(page.locator("#chat-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#chat-status")).to_have_text("在线")


def replies_after(page: Page, count_before: int) -> Locator:
    """Bot messages below the user's message that was item `count_before + 1`."""
    return page.locator(f"{MESSAGES}.msg-bot:nth-child(n+{count_before + 2})")


def expect_user_message(page: Page, count_before: int, shown: str) -> None:
    user = page.locator(f"{MESSAGES}:nth-child({count_before + 1})")
    expect(user).to_have_class(re.compile(r"\bmsg-user\b"))
    expect(user).to_have_text(shown)


def ask(page: Page, text: str, expected: str) -> Locator:
    """Type `text`, press Enter, wait for a reply containing `expected`; return the new bot messages."""
    before = page.locator(MESSAGES).count()
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    expect_user_message(page, before, text)
    expect(page.locator("#chat-input")).to_have_value("")
    replies = replies_after(page, before)
    expect(replies.filter(has_text=expected).first, f"no reply containing {expected!r} to {text!r}").to_be_visible()
    return replies


def click(page: Page, button: Locator, expected: str) -> Locator:
    """Click a bot button, check its title is shown as the user's message, wait for the reply."""
    before = page.locator(MESSAGES).count()
    title = button.inner_text()
    button.click()
    expect_user_message(page, before, title)
    replies = replies_after(page, before)
    expect(replies.filter(has_text=expected).first, f"no reply containing {expected!r} to button {title!r}").to_be_visible()
    return replies


def session_id(page: Page) -> str | None:
    return page.evaluate("localStorage.getItem('zhushu.session_id')")


def test_page_is_configured_with_the_rasa_socket(browser, chat_url, desk):
    config = browser.request.get(chat_url + "config.js")
    assert config.ok, f"GET /config.js: {config.status}"
    assert "ZHUSHU_CONFIG" in config.text() and desk.rasa_url in config.text(), config.text()
    assert browser.request.get(chat_url + "static/vendor/socket.io.min.js").ok, "run ops/vendor_web.sh"


def test_conversation_with_buttons_survives_a_reload(page, chat_url, desk, screenshot):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(chat_url)
    expect(page).to_have_title(re.compile("筑数助手"))
    expect(page.locator("h1")).to_contain_text("筑数助手")
    wait_online(page)
    first_session = session_id(page)
    assert first_session

    ask(page, "你好", "筑数助手")
    ask(page, "目录里有多少数据集", "1139")

    # A search answers with one message per dataset, each with buttons.
    replies = ask(page, "帮我找一下公交站点的数据", "为您找到")
    first_result = replies.filter(has=page.locator(".chat-button", has_text="详情")).first
    expect(first_result).to_be_visible()
    result_text = first_result.locator(".bubble").inner_text()
    # "1. <title>\n   <department> · …": the newline is rendered, not collapsed into a space.
    assert "\n" in result_text, result_text
    title = result_text.split("\n")[0].removeprefix("1. ").strip()
    assert title

    # The button sends its payload (/dataset_detail{"dataset_id": …}) and shows only its title.
    detail = click(page, first_result.locator(".chat-button", has_text="详情"), "提供部门")
    expect(detail.filter(has_text="提供部门").first).to_contain_text(f"【{title}】")

    # Everything came from the web service and the Rasa server: no CDN.
    allowed = {origin(chat_url), origin(desk.rasa_url), origin(desk.rasa_url).replace("http", "ws", 1)}
    foreign = [url for url in requested if not url.startswith("data:") and origin(url) not in allowed]
    assert not foreign, foreign

    # Reload: the same conversation is shown and continues on the same Rasa session.
    shown_before = page.locator(MESSAGES).all_inner_texts()
    page.reload()
    wait_online(page)
    assert page.locator(MESSAGES).all_inner_texts() == shown_before
    assert session_id(page) == first_session
    # Buttons of earlier turns are retired (also when restored from the saved history), and Rasa still
    # remembers the search made before the reload (slots of the same session).
    expect(page.locator(".chat-button", has_text="下一页").last).to_be_disabled()
    for latest in page.locator("#chat-messages .buttons:not(.retired) .chat-button").all():
        expect(latest).to_be_enabled()  # the latest reply's buttons (申请此数据 only on 有条件开放 data)
    ask(page, "下一页", "第 2/")

    screenshot(page, "chat.png")

    # 新对话: history cleared, a new Rasa session.
    page.click("#chat-reset")
    wait_online(page)
    expect(page.locator(MESSAGES)).to_have_count(1)  # the welcome message only
    assert session_id(page) not in (None, first_session)
    ask(page, "你好", "筑数助手")


def test_unreachable_assistant_is_explained_politely(page, chat_url, screenshot):
    nobody = f"http://127.0.0.1:{free_port()}"  # a port where no Rasa server listens
    page.route(
        "**/config.js",
        lambda route: route.fulfill(
            content_type="application/javascript",
            body=f'window.ZHUSHU_CONFIG = {{"socketUrl": "{nobody}", "socketPath": "/socket.io"}};',
        ),
    )
    page.goto(chat_url)
    status = page.locator("#chat-status")
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_have_text("连接已断开")
    expect(page.locator("#chat-banner")).to_contain_text("正在自动重试")
    expect(page.locator("#chat-banner")).to_contain_text("12345")
    expect(page.locator("#chat-send")).to_be_disabled()

    # Enter does not lose what the user typed; the widget says why nothing was sent.
    page.fill("#chat-input", "你好")
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-input")).to_have_value("你好")
    expect(page.locator(f"{MESSAGES}.msg-user")).to_have_count(0)
    expect(page.locator(f"{MESSAGES}.msg-note").last).to_contain_text("连接恢复后才能发送")

    screenshot(page, "chat_offline.png")

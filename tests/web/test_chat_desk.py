"""The chat page as a citizen on a phone and a desktop: links, the menu, tap targets, speakers for screen readers,
the privacy notice before the first personal field, the 取消 chip during a form, the phone masked in the stored
history, and axe-core's accessibility check.  Real web service, real Rasa, real actions."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import axe_violations
from tests.web.test_chat_page import ask, click, wait_online

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
PHONE = "13812345678"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_page_for_people_and_screen_readers(page: Page, chat_url, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(chat_url)
    wait_online(page)
    expect(page.locator("[role=log][aria-live=polite] #chat-messages")).to_be_attached()
    speaker = page.evaluate("getComputedStyle(document.querySelector('#chat-messages > li'), '::before').content")
    assert "筑数助手" in speaker
    expect(page.locator("a[href='tel:12345']").first).to_be_attached()
    expect(page.locator("a[href^='https://data.guiyang.gov.cn']")).to_be_visible()
    expect(page.locator("#chat-menu .menu-item")).to_have_count(5)
    expect(page.locator("#chat-keys")).to_be_visible(visible=viewport == "desktop")
    for node in page.locator(".chat-button:visible, #chat-reset, #chat-send").all():
        assert node.bounding_box()["height"] >= 44, node.inner_text()
    if viewport == "phone":
        size = page.evaluate("getComputedStyle(document.querySelector('#chat-input')).fontSize")
        assert size == "16px"
    assert axe_violations(page) == []


def test_consent_before_personal_fields_and_masked_history(page: Page, chat_url, screenshot):
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(chat_url)
    wait_online(page)
    ask(page, "我要申请数据", "需要什么数据")
    expect(page.locator("#chat-menu .cancel-chip")).to_be_visible()
    ask(page, "全市停车场实时空位", "用途")
    ask(page, "做停车导航", "身份")
    click(page, page.locator(".chat-button", has_text="个人").last, "姓名")
    expect(page.locator("#chat-consent")).to_be_visible()
    expect(page.locator("#chat-input")).to_be_disabled()
    expect(page.locator("#chat-consent")).to_contain_text("保存多久")
    assert axe_violations(page) == []
    screenshot(page, "chat-consent-phone.png")
    page.click("#consent-yes")
    expect(page.locator("#chat-consent")).to_be_hidden()
    ask(page, "张三", "联系电话")
    ask(page, PHONE, "邮箱")
    stored = page.evaluate("localStorage.getItem('zhushu.history')")
    assert PHONE not in stored and "138****5678" in stored
    assert any(m["text"] == "138****5678" for m in json.loads(stored) if m["who"] == "user")
    page.locator("#chat-menu .cancel-chip").click()
    expect(page.locator("#chat-menu .cancel-chip")).to_be_hidden()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_human_handoff_books_a_callback(page: Page, chat_url, viewport):
    """转人工 states the hotline and hours and offers 预约回电; the privacy notice comes before the first personal
    question; the booking ends with an HD ticket number, the phone masked in the reply."""
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(chat_url)
    wait_online(page)
    offer = ask(page, "转人工", "需要预约吗")  # the last of its two messages: the offer, with its buttons
    expect(offer.filter(has_text="12345").first).to_be_visible()
    click(page, page.locator(".chat-button", has_text="预约回电").last, "您的称呼")
    expect(page.locator("#chat-consent")).to_be_visible()
    expect(page.locator("#chat-input")).to_be_disabled()
    page.click("#consent-yes")
    ask(page, "王女士", "回电号码")
    ask(page, PHONE, "方便接听")
    click(page, page.locator(".chat-button", has_text="随时都可以").last, "咨询的问题")
    ask(page, "想了解企业怎么申请交通数据", "请核对")
    replies = click(page, page.locator(".chat-button", has_text="提交").last, "工单号")
    done = replies.filter(has_text=re.compile(r"HD\d{8}-[0-9A-Z]{6}")).first
    expect(done).to_contain_text("138****5678")
    assert PHONE not in done.inner_text()
    assert axe_violations(page) == []

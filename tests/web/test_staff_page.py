"""The staff pages in Debian's chromium, on a phone and a desktop: the ticket workbench and the demand dashboard.

The real web/API service (`web.app.create_app`) runs in a thread on a real migrated database with real tickets;
no Rasa server is needed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from database import migrate, session_scope
from tests.harness import database_url
from tests.tickets.test_api import PHONE, make_tokens, new_ticket
from tests.web.conftest import axe_violations
from tickets import demand, service
from web import ratings
from web.app import create_app

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The web service on a free port; yields (url, agent token, reader token, ticket numbers)."""
    url = database_url(tmp_path_factory.mktemp("staff"))
    migrate(url)
    agent, reader, _ = make_tokens(url)
    request = new_ticket(url, "page-request")
    complaint = service.submit(url, "complaint", "wechat", "page-complaint", {
        "category": "数据质量", "department": "贵阳市交通委员会", "description": "公交站点坐标有误",
        "phone": PHONE}).number
    with session_scope(url) as session:
        for query in ("共享单车停放点", "共享单车停放点数据", "夜市摊位"):
            demand.record_search_miss(session, query, {"category": "交通出行"}, "web")
        for value in ("satisfied", "satisfied", "unsatisfied"):
            ratings.record(session, value, "answer")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(url))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", agent, reader, {"request": request, "complaint": complaint}
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def open_desk(page: Page, base: str, token: str, view: str = "tickets") -> None:
    page.goto(f"{base}/staff#{view}")
    page.fill("#token", token)
    if view == "tickets":
        page.click("#load")
        expect(page.locator("tr.row").first).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_workbench(site, page: Page, viewport, screenshot):
    base, agent, reader, numbers = site
    page.set_viewport_size(VIEWPORTS[viewport])
    open_desk(page, base, agent)
    rows = page.locator("tbody#rows")
    expect(rows).to_contain_text("数据申请")
    expect(rows).to_contain_text("投诉")
    expect(rows).to_contain_text("已提交")
    expect(rows).to_contain_text("微信")
    assert "submitted" not in rows.inner_text() and "wechat" not in rows.inner_text()

    # a complaint: no extension offered, only the allowed transitions, masked phone until revealed
    page.click(f"tr[data-n='{numbers['complaint']}']")
    detail = page.locator("#detail")
    expect(detail).to_contain_text("问题描述")
    assert page.locator("#extend").count() == 0
    options = page.locator("#to option").all_inner_texts()
    assert options == ["已受理", "不予受理", "已办结"]
    expect(page.locator("#phone")).to_contain_text("****")
    page.click("#reveal")
    expect(page.locator("#phone a[href^='tel:']")).to_have_text(PHONE)
    expect(detail).to_contain_text("查看联系方式")  # the audit entry in the history
    expect(page.locator("#reply-label")).to_contain_text("仅内部")
    page.select_option("#to", "rejected")
    expect(page.locator("#reply-label")).to_contain_text("市民可见")
    page.click("#move")  # no reason: refused, in Chinese
    expect(page.locator("#error")).to_contain_text("请填写说明")
    if viewport == "phone":
        width = page.locator("#detail").bounding_box()["width"]
        assert width > 300, width  # the detail column is usable on a phone
        for button in page.locator("button:visible").all():
            assert button.bounding_box()["height"] >= 44
    screenshot(page, f"workbench-{viewport}.png")

    # a data request: extension offered once; Beijing times in the history
    page.click(f"tr[data-n='{numbers['request']}']")
    expect(page.locator("#extend")).to_be_visible()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", page.locator("ol.history").inner_text())
    if viewport == "desktop":
        page.fill("#note", "已电话联系申请人")
        page.click("#add-note")
        expect(page.locator("ol.history")).to_contain_text("已电话联系申请人")
        expect(page.locator("ol.history")).to_contain_text("仅内部")
        page.select_option("#to", "accepted")
        page.click("#move")
        expect(page.locator("#detail h2")).to_contain_text("已受理")
        assert page.locator("#to option").all_inner_texts() == ["办理中", "已答复", "不予受理", "已办结"]

    # a reader token cannot act: the error is in Chinese
    page.fill("#token", reader)
    page.fill("#note", "试试")
    page.click("#add-note")
    expect(page.locator("#error")).to_contain_text("只读")


def test_workbench_filters_sort_and_csv(site, page: Page):
    base, agent, _, numbers = site
    open_desk(page, base, agent)
    page.select_option("#type", "complaint")
    page.click("#load")
    expect(page.locator("tr.row")).to_have_count(1)
    page.select_option("#type", "")
    page.select_option("#sort", "due_date")  # the API sorts (GET /api/tickets?sort=due_date)
    expect(page.locator("#rows")).to_have_attribute("data-sort", "due_date")
    expect(page.locator("tr.row")).to_have_count(2)
    dues = [row.locator("td").nth(4).inner_text()[:10] for row in page.locator("tr.row").all()]
    assert dues == sorted(dues)
    page.select_option("#sort", "-due_date")
    expect(page.locator("#rows")).to_have_attribute("data-sort", "-due_date")
    assert [row.locator("td").nth(4).inner_text()[:10] for row in page.locator("tr.row").all()] == sorted(dues)[::-1]
    with page.expect_download() as download:
        page.click("#export")
    body = open(download.value.path(), encoding="utf-8-sig").read()
    assert body.startswith("工单号,类型,状态") and "投诉" in body and "complaint" not in body


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_dashboard(site, page: Page, viewport, screenshot):
    base, _, reader, _ = site
    page.set_viewport_size(VIEWPORTS[viewport])
    open_desk(page, base, reader, "dashboard")
    page.click("#dash-load")
    expect(page.locator("#chart-top_needs svg")).to_be_visible()
    expect(page.locator("#chart-top_needs")).to_contain_text("共享单车停放点")
    expect(page.locator("#chart-by_week svg")).to_be_visible()
    expect(page.locator("#dash-themes")).to_contain_text("交通出行")
    expect(page.locator("#dash-totals")).to_contain_text("3")
    expect(page.locator("#dash-ratings")).to_contain_text("满意率 67%")
    expect(page.locator("#chart-ratings svg")).to_be_visible()
    with page.expect_download() as download:
        page.click("#dash-export")
    assert open(download.value.path(), encoding="utf-8-sig").read().startswith("需求,合计")
    screenshot(page, f"dashboard-{viewport}.png")


def test_staff_pages_accessibility(site, page: Page):
    base, agent, _, numbers = site
    open_desk(page, base, agent)
    page.click(f"tr[data-n='{numbers['request']}']")
    expect(page.locator("#detail h2")).to_be_visible()
    assert axe_violations(page) == []
    page.click("#tab-dashboard")
    expect(page.locator("#chart-by_theme svg")).to_be_visible()
    assert axe_violations(page) == []

"""The ticket API over real HTTP (aiohttp test server) on a real migrated SQLite database."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from database import session_scope
from tickets import demand, service, staff
from web import api_tickets

PHONE = "13812345678"


def run(db_url: str, scenario: Callable[[TestClient], Awaitable[None]], env: dict | None = None) -> None:
    async def main() -> None:
        app = web.Application()
        app["db_url"] = db_url
        api_tickets.setup_routes(app)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        asyncio.run(main())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_tokens(db_url: str) -> tuple[str, str, str]:
    with session_scope(db_url) as session:
        _, agent = staff.create(session, "王科员", "agent")
        _, reader = staff.create(session, "赵主任", "reader")
        revoked_row, revoked = staff.create(session, "离职人员", "agent")
        staff.revoke(session, revoked_row.id)
    return agent, reader, revoked


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_ticket(db_url: str, key: str, **fields) -> str:
    base = {"requested_data": "全市停车场实时空位", "purpose": "停车导航", "applicant_type": "企业",
            "applicant_name": "贵州云数科技有限公司", "phone": PHONE, "department": "贵阳市交通委员会"}
    return service.submit(db_url, "data_request", "web", key, {**base, **fields}).number


def test_auth_failures(db_url):
    agent, reader, revoked = make_tokens(db_url)
    number = new_ticket(db_url, "api-auth")

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/tickets")
        assert resp.status == 401 and "Bearer" in resp.headers["WWW-Authenticate"]
        assert (await client.get("/api/tickets", headers={"Authorization": "Basic abc"})).status == 401
        assert (await client.get("/api/tickets", headers=bearer("zsst_forged"))).status == 401
        assert (await client.get("/api/tickets", headers=bearer(revoked))).status == 401
        assert (await client.get("/api/reports/demand")).status == 401
        assert (await client.get("/api/tickets", headers=bearer(reader))).status == 200
        resp = await client.post(f"/api/tickets/{number}/transitions", json={"to": "accepted"}, headers=bearer(reader))
        assert resp.status == 403 and "read-only" in (await resp.json())["error"]
        assert (await client.get(f"/api/tickets/{number}?reveal=contact", headers=bearer(reader))).status == 403
        assert (await client.post(f"/api/tickets/{number}/transitions", json={"to": "accepted"})).status == 401

    run(db_url, scenario)


def test_transitions_notes_and_staff_identity(db_url):
    agent, reader, _ = make_tokens(db_url)
    number = new_ticket(db_url, "api-transitions")

    async def scenario(client: TestClient) -> None:
        url = f"/api/tickets/{number}/transitions"
        resp = await client.post(url, json={"to": "answered"}, headers=bearer(agent))
        assert resp.status == 409 and "not allowed" in (await resp.json())["error"]
        resp = await client.post(url, json={"to": "accepted"}, headers=bearer(agent))
        assert resp.status == 200 and (await resp.json())["status"] == "accepted"
        resp = await client.post(url, json={"to": "rejected"}, headers=bearer(agent))
        assert resp.status == 400 and "note" in (await resp.json())["error"]
        resp = await client.post(url, json={"to": "flying"}, headers=bearer(agent))
        assert resp.status == 400
        resp = await client.post(url, data="not json", headers=bearer(agent))
        assert resp.status == 400 and "JSON" in (await resp.json())["error"]
        resp = await client.post(f"/api/tickets/{number}/notes", json={"note": "已电话联系申请人"}, headers=bearer(agent))
        assert resp.status == 201
        before = (await resp.json())["due_date"]
        resp = await client.post(f"/api/tickets/{number}/extension", json={"note": "需协调两个部门"}, headers=bearer(agent))
        after = (await resp.json())["due_date"]
        assert resp.status == 200 and after > before
        again = await client.post(f"/api/tickets/{number}/extension", json={"note": "再延"}, headers=bearer(agent))
        assert again.status == 409 and "already" in (await again.json())["error"]
        resp = await client.post(url, json={"to": "closed", "note": "数据已发布", "resolution": "released"},
                                 headers=bearer(agent))
        body = await resp.json()
        assert resp.status == 200 and body["status"] == "closed" and body["resolution"] == "released"
        history = body["history"]
        assert [h["kind"] for h in history] == ["status", "status", "note", "extension", "status"]
        assert history[1]["actor"] == "王科员" and history[-1]["note"] == "数据已发布"
        assert body["phone"] == "138****5678"
        resp = await client.post(url, json={"to": "accepted"}, headers=bearer(agent))
        assert resp.status == 409 and "final" in (await resp.json())["error"]
        # seeing the phone in clear is possible for agents and audited
        resp = await client.get(f"/api/tickets/{number}?reveal=contact", headers=bearer(agent))
        body = await resp.json()
        assert body["phone"] == PHONE and body["history"][-1]["kind"] == "contact_viewed"
        assert (await client.get("/api/tickets/SQ20200101-ZZZZZZ", headers=bearer(reader))).status == 404

    run(db_url, scenario)


def test_listing_filters_paging_and_csv(db_url):
    _, reader, _ = make_tokens(db_url)
    for i in range(3):
        new_ticket(db_url, f"api-list-{i}", department="贵阳市公安局")

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/tickets", params={"department": "贵阳市公安局", "per_page": "2"},
                                headers=bearer(reader))
        body = await resp.json()
        assert body["total"] == 3 and len(body["items"]) == 2 and "history" not in body["items"][0]
        assert all(item["phone"] == "138****5678" for item in body["items"])
        page2 = await (await client.get("/api/tickets", params={"department": "贵阳市公安局", "per_page": "2",
                                                                 "page": "2"}, headers=bearer(reader))).json()
        assert len(page2["items"]) == 1
        overdue = await (await client.get("/api/tickets", params={"overdue": "true"}, headers=bearer(reader))).json()
        assert overdue["total"] == 0  # everything was filed today
        for bad in ({"type": "x"}, {"status": "done"}, {"overdue": "maybe"}, {"per_page": "1000"}, {"page": "a"}):
            assert (await client.get("/api/tickets", params=bad, headers=bearer(reader))).status == 400
        resp = await client.get("/api/tickets/export.csv", params={"department": "贵阳市公安局"}, headers=bearer(reader))
        text = (await resp.read()).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert resp.content_type == "text/csv" and len(rows) == 3
        assert PHONE not in text and "138****" not in text and "贵州云数科技" not in text

    run(db_url, scenario)


def test_public_status_is_neutral(db_url):
    number = new_ticket(db_url, "api-public")

    async def scenario(client: TestClient) -> None:
        ok = await client.get(f"/api/tickets/{number.lower()}/status", params={"phone_tail": "5678"})
        body = await ok.json()
        assert ok.status == 200 and body["status"] == "submitted" and body["due_date_estimate"] is True
        assert "phone" not in body and "applicant_name" not in body and "actor" not in body["history"][0]
        wrong = await client.get(f"/api/tickets/{number}/status", params={"phone_tail": "0000"})
        unknown = await client.get("/api/tickets/SQ20200101-ZZZZZZ/status", params={"phone_tail": "5678"})
        assert wrong.status == unknown.status == 404 and await wrong.json() == await unknown.json()
        assert (await client.get(f"/api/tickets/{number}/status")).status == 400

    run(db_url, scenario)


def test_api_creation_is_idempotent(db_url):
    agent, _, _ = make_tokens(db_url)
    body = {"type": "complaint", "category": "平台服务", "description": "开放平台下载页面一直报500错误", "phone": "0851-86861234"}

    async def scenario(client: TestClient) -> None:
        headers = {**bearer(agent), "Idempotency-Key": "form-42"}
        first, second = await asyncio.gather(client.post("/api/tickets", json=body, headers=headers),
                                             client.post("/api/tickets", json=body, headers=headers))
        a, b = await first.json(), await second.json()
        assert a["number"] == b["number"] and sorted([first.status, second.status]) == [200, 201]
        assert a["channel"] == "api" and a["phone"] == "0851-****1234"
        assert (await client.post("/api/tickets", json=body, headers=bearer(agent))).status == 400
        bad = await client.post("/api/tickets", json={**body, "phone": "123"}, headers={**headers, "Idempotency-Key": "x"})
        assert bad.status == 400 and "phone" in (await bad.json())["error"]

    run(db_url, scenario)


def test_demand_report_from_misses_and_requests(db_url):
    _, reader, _ = make_tokens(db_url)
    with session_scope(db_url) as session:
        for query in ("共享单车停放点", "有没有共享单车停放点的数据？", "共享單車停放點", "我的电话13812345678"):
            demand.record_search_miss(session, query, {"category": "交通出行"}, "web")
        assert demand.record_search_miss(session, "？？", {}, "web") is None
    new_ticket(db_url, "api-demand", requested_data="共享单车停放点数据", department="贵阳市交通委员会")

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/reports/demand", headers=bearer(reader))
        report = await resp.json()
        top = next(n for n in report["top_needs"] if n["need"] == "共享单车停放点")
        assert (top["searches"], top["requests"], top["total"]) == (3, 1, 4)
        assert top["theme"] == "交通出行"
        text = str(report)
        assert "5678" not in text and "贵州云数科技" not in text
        assert {row["department"] for row in report["by_department"]} >= {"贵阳市交通委员会"}

    run(db_url, scenario)


def test_staff_api_token_seeds_a_dev_token(db_url):
    async def scenario(client: TestClient) -> None:
        assert (await client.get("/api/tickets", headers=bearer("dev-secret-123"))).status == 200

    run(db_url, scenario, env={"STAFF_API_TOKEN": "dev-secret-123"})
    with session_scope(db_url) as session:
        names = [t.name for t in staff.list_tokens(session)]
    assert names.count(staff.SEED_NAME) == 1


def test_wired_into_the_web_service(db_url):
    """The real web application serves the ticket API and the staff page."""
    from web.app import create_app

    async def main() -> None:
        async with TestClient(TestServer(create_app(db_url))) as client:
            page = await client.get("/static/staff/index.html")
            assert page.status == 200 and "工单工作台" in await page.text()
            assert (await client.get("/api/tickets")).status == 401
            resp = await client.get("/api/tickets/SQ20200101-ZZZZZZ/status", params={"phone_tail": "1234"})
            assert resp.status == 404

    asyncio.run(main())

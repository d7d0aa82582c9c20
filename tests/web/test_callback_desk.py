"""The staff side of 回电预约 and the server-side sort of the ticket list, over real HTTP on a real migrated
database: the callback ticket with its fields in Chinese (labels from the registry), the Chinese CSV, and
GET /api/tickets?sort=… with its one declared set of keys."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from aiohttp.test_utils import TestClient

from database import migrate, session_scope
from tests.harness import database_url
from tests.tickets.test_api import PHONE, bearer, make_tokens
from tests.web.test_desk_api import run
from tickets import service, transitions

CALLBACK = {"contact_name": "王女士", "phone": PHONE, "best_time": "工作日下午", "question": "想了解企业怎么申请交通数据"}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = database_url(tmp_path_factory.mktemp("callback-desk"))
    migrate(url)
    return url


def test_callback_ticket_on_the_workbench_in_chinese(db_url):
    agent, reader, _ = make_tokens(db_url)
    number = service.submit(db_url, "callback", "web", "desk-callback-1", CALLBACK).number
    assert number.startswith("HD")

    async def scenario(client: TestClient) -> tuple[dict, dict, dict, str]:
        meta = await (await client.get("/api/desk/meta")).json()
        masked = await (await client.get(f"/api/tickets/{number}", headers=bearer(reader))).json()
        clear = await (await client.get(f"/api/tickets/{number}?reveal=contact", headers=bearer(agent))).json()
        body = await (await client.get("/api/desk/tickets.csv?type=callback", headers=bearer(reader))).read()
        return meta, masked, clear, body.decode("utf-8-sig")

    meta, masked, clear, body = run(db_url, scenario)
    kind = next(t for t in meta["types"] if t["name"] == "callback")
    assert (kind["label"], kind["extension"], kind["anonymous"]) == ("回电预约", False, False)
    assert kind["fields"] == [{"column": "contact_name", "label": "称呼"},
                              {"column": "best_time", "label": "方便接听的时间"},
                              {"column": "question", "label": "咨询的问题"}]  # the phone has its own masked row
    for view in (masked, clear):
        assert (view["type"], view["contact_name"], view["best_time"], view["question"]) == (
            "callback", "王女士", "工作日下午", "想了解企业怎么申请交通数据")
    assert masked["phone"] == "138****5678" and clear["phone"] == PHONE
    assert masked["due_date_estimate"] is True  # the 1-working-day target is the desk's own, not a legal limit
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["工单号"], r["类型"], r["状态"]) for r in rows] == [(number, "回电预约", "已提交")]
    assert PHONE not in body and "王女士" not in body  # the CSV carries no personal data


def _seed(db_url: str) -> dict[str, str]:
    """Three tickets with distinct due dates and statuses (received on given days)."""
    made = {}
    with session_scope(db_url) as session:
        for key, kind, received, fields in (
            ("sort-request", "data_request", date(2025, 11, 3), {"requested_data": "公厕位置", "purpose": "地图应用",
                                                                   "applicant_type": "企业", "applicant_name": "贵州某某科技有限公司",
                                                                   "phone": PHONE}),
            ("sort-complaint", "complaint", date(2025, 11, 10), {"category": "数据质量", "description": "公交站点数据两年没有更新了",
                                                                 "phone": PHONE}),
            ("sort-callback", "callback", date(2025, 11, 20), {**CALLBACK}),
        ):
            ticket = service.create_ticket(session, kind, "web", key, fields, received=received).ticket
            made[kind] = ticket.number
        complaint = service.get(session, made["complaint"])
        service.transition(session, complaint, "accepted", "王科员")
    return made


def test_server_side_sort(db_url):
    _, reader, _ = make_tokens(db_url)
    made = _seed(db_url)
    ours = set(made.values())

    async def listed(client: TestClient, sort: str) -> list[dict]:
        resp = await client.get(f"/api/tickets?sort={sort}&per_page=100", headers=bearer(reader))
        assert resp.status == 200, await resp.text()
        return [t for t in (await resp.json())["items"] if t["number"] in ours]

    async def scenario(client: TestClient) -> dict:
        result = {sort: await listed(client, sort) for sort in
                  ("due_date", "-due_date", "due_at", "created_at", "-created_at", "status", "-status", "type")}
        bad = await client.get("/api/tickets?sort=phone", headers=bearer(reader))
        result["bad"] = (bad.status, await bad.json())
        csv_body = await client.get("/api/tickets/export.csv?sort=due_date&type=callback", headers=bearer(reader))
        result["csv"] = csv_body.status
        result["bad_csv"] = (await client.get("/api/desk/tickets.csv?sort=-phone", headers=bearer(reader))).status
        return result

    result = run(db_url, scenario)
    by_due = [t["number"] for t in result["due_date"]]
    assert [t["due_date"] for t in result["due_date"]] == sorted(t["due_date"] for t in result["due_date"])
    # received 11-20 + 1 working day, 11-03 + 15, 11-10 + 15
    assert by_due == [made["callback"], made["data_request"], made["complaint"]]
    assert [t["number"] for t in result["-due_date"]] == by_due[::-1]
    assert [t["number"] for t in result["due_at"]] == by_due  # the alias
    created = [t["created_at"] for t in result["created_at"]]
    assert created == sorted(created) and [t["created_at"] for t in result["-created_at"]] == created[::-1]
    order = transitions.STATUSES
    statuses = [t["status"] for t in result["status"]]
    assert statuses == sorted(statuses, key=order.index) and statuses[-1] == "accepted"
    assert [t["status"] for t in result["-status"]][0] == "accepted"
    assert [t["type"] for t in result["type"]] == sorted(t["type"] for t in result["type"])
    status, body = result["bad"]
    assert status == 400 and body["error"].startswith("sort must be one of created_at, -created_at")
    assert "got 'phone'" in body["error"] and "-due_date" in body["allowed"]
    assert (result["csv"], result["bad_csv"]) == (200, 400)

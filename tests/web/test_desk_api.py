"""The staff pages' API (web/api_desk.py) over real HTTP on a real migrated database: labels, the Chinese ticket
CSV, the demand dashboard and its CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from database import migrate, session_scope
from tests.harness import database_url
from tests.tickets.test_api import bearer, make_tokens, new_ticket
from tickets import demand
from web import api_desk, api_tickets, ratings


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = database_url(tmp_path_factory.mktemp("desk"))
    migrate(url)
    return url


def run(db_url: str, scenario: Callable[[TestClient], Awaitable[Any]]) -> Any:
    """`scenario(client)` against the ticket and desk routes; returns what it returns."""
    async def main() -> Any:
        app = web.Application()
        app["db_url"] = db_url
        api_tickets.setup_routes(app)
        api_desk.setup_routes(app)
        ratings.setup_routes(app)
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_meta_labels_transitions_and_extension(db_url):
    async def scenario(client: TestClient) -> dict:
        return await (await client.get("/api/desk/meta")).json()

    meta = run(db_url, scenario)
    statuses = {s["name"]: s for s in meta["statuses"]}
    assert statuses["submitted"]["label"] == "已提交"
    assert statuses["answered"]["allowed"] == ["closed"] and statuses["closed"]["allowed"] == []
    assert statuses["rejected"]["note_required"] and statuses["answered"]["note_public"]
    kinds = {t["name"]: t for t in meta["types"]}
    assert kinds["data_request"]["extension"] is True and kinds["complaint"]["extension"] is False
    assert meta["channels"]["wechat"] == "微信" and meta["actors"]["applicant"] == "市民"


def test_ticket_csv_in_chinese_and_beijing_time(db_url):
    _, reader, _ = make_tokens(db_url)
    number = new_ticket(db_url, "desk-csv")

    async def scenario(client: TestClient) -> tuple[str, dict]:
        assert (await client.get("/api/desk/tickets.csv")).status == 401
        resp = await client.get("/api/desk/tickets.csv", headers=bearer(reader))
        ticket = await (await client.get(f"/api/tickets/{number}", headers=bearer(reader))).json()
        return (await resp.read()).decode("utf-8-sig"), ticket

    body, ticket = run(db_url, scenario)
    rows = list(csv.DictReader(io.StringIO(body)))
    row = next(r for r in rows if r["工单号"] == number)
    assert (row["类型"], row["状态"], row["渠道"], row["是否逾期"]) == ("数据申请", "已提交", "网页", "否")
    assert row["提交时间（北京时间）"] == api_desk.beijing(ticket["created_at"])
    assert "5678" not in body  # still no personal data


def test_beijing_time():
    assert api_desk.beijing("2026-11-29T17:30:00+00:00") == "2026-11-30 01:30"
    assert api_desk.beijing("2026-11-29T01:05:00") == "2026-11-29 09:05"
    assert api_desk.beijing("") == ""


def test_dashboard_charts_and_csv(db_url):
    _, reader, _ = make_tokens(db_url)
    with session_scope(db_url) as session:
        for query in ("共享单车停放点", "共享单车停放点的数据", "夜市摊位"):
            demand.record_search_miss(session, query, {"category": "交通出行"}, "web")
    new_ticket(db_url, "desk-demand", requested_data="共享单车停放点数据", department="贵阳市交通委员会")

    async def scenario(client: TestClient) -> tuple[dict, str]:
        assert (await client.get("/api/reports/dashboard")).status == 401
        report = await (await client.get("/api/reports/dashboard", headers=bearer(reader))).json()
        body = await (await client.get("/api/reports/dashboard.csv", headers=bearer(reader))).read()
        return report, body.decode("utf-8-sig")

    report, body = run(db_url, scenario)
    top = report["top_needs"][0]
    assert (top["need"], top["total"], top["searches"], top["requests"]) == ("共享单车停放点", 3, 2, 1)
    assert sum(w["searches"] for w in report["by_week"]) == 3 and sum(w["requests"] for w in report["by_week"]) >= 1
    theme = next(t for t in report["needs_by_theme"] if t["theme"] == "交通出行")
    assert "夜市摊位" in [n["need"] for n in theme["needs"]]
    for chart in report["charts"].values():
        assert chart.startswith("<svg") and 'role="img"' in chart
    assert "共享单车停放点" in report["charts"]["top_needs"]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["需求", "合计", "搜索无结果次数", "目录外申请件数"]
    assert rows[1][:4] == ["共享单车停放点", "3", "2", "1"]


def test_ratings_stored_and_on_the_dashboard(db_url):
    _, reader, _ = make_tokens(db_url)

    async def scenario(client: TestClient) -> dict:
        for value, moment in (("satisfied", "answer"), ("satisfied", "conversation"), ("unsatisfied", "answer")):
            resp = await client.post("/api/ratings", json={"value": value, "moment": moment})
            assert resp.status == 201
        for bad in ({"value": "great", "moment": "answer"}, {"value": "satisfied"}, ["satisfied"]):
            assert (await client.post("/api/ratings", json=bad)).status == 400
        return await (await client.get("/api/reports/dashboard", headers=bearer(reader))).json()

    report = run(db_url, scenario)
    assert (report["ratings"]["satisfied"], report["ratings"]["unsatisfied"]) >= (2, 1)
    moments = {m["moment"]: m for m in report["ratings"]["by_moment"]}
    assert moments["对话结束"]["satisfied"] >= 1
    assert "满意" in report["charts"]["ratings"]

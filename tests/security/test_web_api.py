"""The web service (`web.app.create_app`, real HTTP, a real migrated database with the sample catalogue) under hostile
input: status-lookup guessing, formula injection in CSV exports, malformed JSON bodies, idempotency-key reuse, text
of any length, odd search parameters, security headers, and the conversation's status lookup limits."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.ticket_lookup import ActionCheckTicket
from database import session_scope
from tests.tickets.conftest import catalog_db_url  # noqa: F401 - fixture: a migrated database, sample catalogue
from tickets import service, staff
from web.app import create_app

PHONE = "13812345678"
FORMULAS = ("=HYPERLINK(\"http://evil.example\",\"点我\")", "+1+2", "-2+3", "@SUM(1)", "\t=1", "\r=1")


def run(url: str, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(url))) as client:
            await scenario(client)

    asyncio.run(main())


@pytest.fixture(scope="module")
def url(catalog_db_url: str) -> str:  # noqa: F811
    return catalog_db_url


@pytest.fixture(scope="module")
def tokens(url: str) -> dict[str, str]:
    with session_scope(url) as session:
        return {"agent": staff.create(session, "安全测试员", "agent")[1],
                "reader": staff.create(session, "安全审阅员", "reader")[1]}


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def new_ticket(url: str, **fields) -> str:
    base = {"requested_data": "全市停车场实时空位", "purpose": "停车导航", "applicant_type": "企业",
            "applicant_name": "贵州云数科技有限公司", "phone": PHONE, "department": "贵阳市交通委员会"}
    return service.submit(url, "data_request", "web", uuid.uuid4().hex, {**base, **fields}).number


# -- item 4: the public status lookup --------------------------------------------------------------------------

def test_status_lookup_is_limited_per_ticket_and_per_client_and_audited(url, monkeypatch, caplog):
    monkeypatch.setenv("STATUS_LOOKUP_TICKET_LIMIT", "3")
    monkeypatch.setenv("STATUS_LOOKUP_CLIENT_LIMIT", "5")
    first, second, third = (new_ticket(url) for _ in range(3))
    caplog.set_level(logging.INFO, logger="tickets.audit")

    async def scenario(client: TestClient) -> None:
        def status(number: str, tail: str):
            return client.get(f"/api/tickets/{number}/status", params={"phone_tail": tail})

        for guess in ("1111", "2222", "3333"):
            assert (await status(first, guess)).status == 404
        limited = await status(first, "5678")  # the right tail, but this ticket had too many wrong guesses
        body = await limited.json()
        assert limited.status == 429 and "分钟后再查询" in body["message"] and "status" not in body
        assert int(limited.headers["Retry-After"]) > 0
        for guess in ("4444", "5555"):  # the client's 4th and 5th failed lookup, on another ticket
            assert (await status(second, guess)).status == 404
        assert (await status(third, "5678")).status == 429  # this address is now over its limit

    run(url, scenario)
    lines = [r.getMessage() for r in caplog.records if r.name == "tickets.audit"]
    assert len(lines) == 7 and all("client=127.0.0.1" in line for line in lines)
    assert sum("result=not_found" in line for line in lines) == 5 and lines[3].endswith("result=limited")
    assert f"ticket={first}" in lines[0] and "tail=**11" in lines[0]
    assert not any(tail in line for line in lines for tail in ("1111", "5678", PHONE))


def test_a_correct_lookup_is_not_counted_and_a_fresh_app_starts_clean(url, monkeypatch):
    monkeypatch.setenv("STATUS_LOOKUP_TICKET_LIMIT", "2")
    number = new_ticket(url)

    async def scenario(client: TestClient) -> None:
        for _ in range(5):
            resp = await client.get(f"/api/tickets/{number}/status", params={"phone_tail": "5678"})
            assert resp.status == 200

    run(url, scenario)


def test_the_conversation_lookup_has_the_same_limit_and_a_polite_sentence(url, monkeypatch):
    monkeypatch.setenv("DB_URL", url)
    monkeypatch.setenv("STATUS_LOOKUP_TICKET_LIMIT", "2")
    number = new_ticket(url)
    sender = f"sec-{uuid.uuid4().hex}"

    def ask(tail: str) -> list[dict]:
        tracker = Tracker(sender, {"ticket_no": number, "phone_tail": tail}, {}, [], False, None, None, None)
        dispatcher = CollectingDispatcher()
        ActionCheckTicket().run(dispatcher, tracker, {})
        return dispatcher.messages

    for guess in ("1111", "2222"):
        [message] = ask(guess)
        assert message["response"] == "utter_ticket_not_found"
    [message] = ask("5678")
    assert message["text"].startswith("查询次数过多") and "分钟后再查询" in message["text"]


# -- item 6: CSV exports ---------------------------------------------------------------------------------------

def test_every_csv_neutralises_formulas(url, tokens):
    for formula, need in zip(FORMULAS, ("公交线路", "地铁客流", "停车泊位", "医院床位", "学校招生", "气象预警"), strict=True):
        new_ticket(url, requested_data=f"{formula}{need}数据", department=f"{formula}部门", category=formula)

    async def scenario(client: TestClient) -> None:
        for path in ("/api/tickets/export.csv", "/api/desk/tickets.csv", "/api/reports/dashboard.csv"):
            resp = await client.get(path, headers=bearer(tokens["reader"]))
            assert resp.status == 200, path
            cells = [c for row in csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))) for c in row]
            for formula in FORMULAS:
                assert f"'{formula}部门" in cells, (path, formula)
            assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], path

    run(url, scenario)


# -- item 7: malformed bodies ----------------------------------------------------------------------------------

DEEP = "[" * 30000 + "]" * 30000  # within the size limit, far beyond the recursion limit


def hostile_bodies(field: str) -> list[tuple[bytes, str]]:
    """(raw body, what the 400 message must contain)."""
    bodies = [
        (f'{{"{field}": {"[" * 20000 + "]" * 20000}}}', "nested too deeply"),
        (f'{{"{field}": [[[[[[["x"]]]]]]]}}', f"'{field}[0][0][0]"),
        (DEEP, "nested too deeply"),
        (json.dumps({field: ["a", "b"]}), f"'{field}'"),
        (json.dumps({field: {"x": 1}}), f"'{field}'"),
        (json.dumps({field: 7}), f"'{field}'"),
        (f'{{"{field}": "\\ud800 surrogate"}}', f"'{field}' contains an invalid character"),
        (f'{{"{field}": "ok", "\\udfff": 1}}', "invalid character"),
        (json.dumps({field: "长" * 5000}), f"'{field}' is too long: at most 4000"),
        ("[1, 2]", "JSON object"),
        ("\"just a string\"", "JSON object"),
        ("{\"a\": ", "JSON object"),
    ]
    return [(body.encode("utf-8", "surrogatepass"), expected) for body, expected in bodies] + [
        (b'{"' + field.encode() + b'": "\xff\xfe"}', "UTF-8")]


@pytest.mark.parametrize("endpoint, field", [
    ("transitions", "to"), ("transitions", "note"), ("transitions", "resolution"), ("notes", "note"),
    ("extension", "note"), ("create", "description"), ("create", "type"), ("ratings", "value"),
])
def test_malformed_bodies_get_a_precise_400_never_a_500(url, tokens, endpoint, field):
    number = new_ticket(url)
    path = {"create": "/api/tickets", "ratings": "/api/ratings"}.get(endpoint, f"/api/tickets/{number}/{endpoint}")

    async def scenario(client: TestClient) -> None:
        for body, expected in hostile_bodies(field):
            resp = await client.post(path, data=body, headers=bearer(tokens["agent"], **{
                "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}))
            answer = await resp.json()
            assert resp.status == 400 and expected in answer["error"], (endpoint, field, body[:40], answer)

    run(url, scenario)


def test_a_body_over_the_size_limit_is_413(url, tokens):
    async def scenario(client: TestClient) -> None:
        for path in ("/api/tickets", "/api/ratings"):
            resp = await client.post(path, data=b'{"note": "' + b"x" * 70_000 + b'"}',
                                     headers=bearer(tokens["agent"], **{"Idempotency-Key": "big"}))
            assert resp.status == 413 and "at most 65536 bytes" in (await resp.json())["error"], path

    run(url, scenario)


# -- item 8: smaller API gaps ----------------------------------------------------------------------------------

COMPLAINT = {"type": "complaint", "category": "平台服务", "description": f"下载页面一直报错，请回电{PHONE}",
             "phone": "0851-86861234"}


def test_description_is_masked_unless_the_contact_is_revealed(url, tokens):
    # stored as given (a ticket from before the staff API applied the conversation's rules, or a channel that
    # keeps the number in the text): only reveal=contact, audited, shows it
    number = service.submit(url, "complaint", "api", uuid.uuid4().hex,
                            {"category": "平台服务", "description": COMPLAINT["description"], "phone": PHONE}).number

    async def scenario(client: TestClient) -> None:
        created = await client.post("/api/tickets", json=COMPLAINT,
                                    headers=bearer(tokens["agent"], **{"Idempotency-Key": uuid.uuid4().hex}))
        assert created.status == 201 and PHONE not in await created.text()
        read = await client.get(f"/api/tickets/{number}", headers=bearer(tokens["reader"]))
        assert (await read.json())["description"] == "下载页面一直报错，请回电138****5678"
        listed = await client.get("/api/tickets", params={"per_page": "100"}, headers=bearer(tokens["reader"]))
        assert number in await listed.text() and PHONE not in await listed.text()
        revealed = await client.get(f"/api/tickets/{number}?reveal=contact", headers=bearer(tokens["agent"]))
        body = await revealed.json()
        assert body["description"] == COMPLAINT["description"] and body["history"][-1]["kind"] == "contact_viewed"

    run(url, scenario)


def test_a_reused_idempotency_key_with_another_body_is_409(url, tokens):
    headers = bearer(tokens["agent"], **{"Idempotency-Key": uuid.uuid4().hex})

    async def scenario(client: TestClient) -> None:
        first = await client.post("/api/tickets", json=COMPLAINT, headers=headers)
        again = await client.post("/api/tickets", json=COMPLAINT, headers=headers)
        assert (first.status, again.status) == (201, 200)
        assert (await first.json())["number"] == (await again.json())["number"]
        other = await client.post("/api/tickets", json={**COMPLAINT, "description": "另一个问题：数据集无法下载"},
                                  headers=headers)
        answer = await other.json()
        assert other.status == 409 and "different body" in answer["error"]

    run(url, scenario)


def test_rows_over_100_and_queries_with_nothing_to_search(url):
    async def scenario(client: TestClient) -> None:
        resp = await client.get("/api/datasets", params={"rows": "101"})
        answer = await resp.json()
        assert resp.status == 400 and answer["parameter"] == "rows" and "at most 100" in answer["error"]
        assert (await client.get("/api/datasets", params={"rows": "100"})).status == 200
        everything = (await (await client.get("/api/datasets")).json())["count"]
        assert everything > 0
        for q in ("😀😀😀", "？！。，", "...", "🚌 ！"):
            resp = await client.get("/api/datasets", params={"q": q})
            body = await resp.json()
            assert resp.status == 200 and body["count"] == 0 and body["results"] == [] and "note" in body, q
        found = await (await client.get("/api/datasets", params={"q": "公交🚌"})).json()
        assert 0 < found["count"] < everything  # an emoji next to words does not hide the words

    run(url, scenario)


def test_every_response_carries_the_security_headers(url, tokens):
    async def scenario(client: TestClient) -> None:
        for path in ("/", "/staff", "/static/chat.js", "/config.js", "/api/datasets", "/api/desk/meta",
                     "/api/tickets", "/api/datasets?rows=x", "/no/such/page"):
            resp = await client.get(path)
            csp = resp.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
            assert resp.headers["X-Frame-Options"] == "DENY", path
            assert resp.headers["X-Content-Type-Options"] == "nosniff", path
            assert resp.headers["Referrer-Policy"] == "same-origin", path

    run(url, scenario)


# -- the public ratings endpoint --------------------------------------------------------------------------------

def test_ratings_are_rate_limited_per_client(url, monkeypatch):
    monkeypatch.setenv("RATINGS_PER_CLIENT_HOUR", "3")

    async def scenario(client: TestClient) -> None:
        for _ in range(3):
            resp = await client.post("/api/ratings", json={"value": "satisfied", "moment": "answer"})
            assert resp.status == 201
        resp = await client.post("/api/ratings", json={"value": "satisfied", "moment": "answer"})
        body = await resp.json()
        assert resp.status == 429 and body["message"] == "评价提交过于频繁，请稍后再试。" and resp.headers["Retry-After"]

    run(url, scenario)

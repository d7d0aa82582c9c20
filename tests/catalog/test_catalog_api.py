"""HTTP API over a real temporary SQLite catalogue, with aiohttp's test server and client."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.api_datasets import setup_routes


@pytest.fixture(scope="module")
def call(sample_url):
    """call(path, **params) -> (status, json body), against one app for the module."""
    app = web.Application()
    app["db_url"] = sample_url
    setup_routes(app)
    loop = asyncio.new_event_loop()
    client = TestClient(TestServer(app), loop=loop)
    loop.run_until_complete(client.start_server())

    def request(path: str, **params):
        async def go():
            resp = await client.get(path, params=params)
            return resp.status, await resp.json()

        return loop.run_until_complete(go())

    yield request
    loop.run_until_complete(client.close())
    loop.close()


def test_search(call):
    status, body = call("/api/datasets", q="有API的公交数据", rows="3")
    assert status == 200
    assert set(body) >= {"count", "page", "rows", "low_confidence", "results", "facets"}
    assert body["rows"] == 3 and body["page"] == 1 and len(body["results"]) == 3
    assert body["low_confidence"] is False and all(r["has_api"] for r in body["results"])
    assert set(body["facets"]) >= {"department", "district", "category", "format", "open_type"}
    assert set(body["results"][0]) == {"id", "title", "department", "category", "open_type", "share_type", "formats",
                                       "has_api", "district", "updated", "score", "highlight"}


def test_empty_query_lists_everything_with_filters(call):
    status, body = call("/api/datasets")
    assert status == 200 and body["count"] == 1139 and len(body["results"]) == 10
    status, body = call("/api/datasets", district="花溪区", has_api="false", rows="1000")
    assert status == 400 and body["parameter"] == "rows" and "at most 100" in body["error"]  # refused, not cut
    status, body = call("/api/datasets", district="花溪区", has_api="false", rows="100")
    assert status == 200 and body["rows"] == 100
    assert len(body["results"]) == 100 and body["count"] == sum(f["count"] for f in body["facets"]["district"])
    assert {r["district"] for r in body["results"]} == {"花溪区", "市本级"}  # a district keeps city-wide data
    districts = [r["district"] for r in body["results"]]
    assert districts == sorted(districts, key=lambda d: d != "花溪区")  # the district's own editions first
    status, body = call("/api/datasets", district="市本级", has_api="false", rows="100")
    assert status == 200 and {r["district"] for r in body["results"]} == {"市本级"}
    status, body = call("/api/datasets", department="市交委", sort="updated", page="2", rows="5")
    assert status == 200 and body["page"] == 2 and {r["department"] for r in body["results"]} == {"贵阳市交通委员会"}


@pytest.mark.parametrize("params,parameter", [
    ({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"rows": "-1"}, "rows"), ({"has_api": "maybe"}, "has_api"),
    ({"department": "火星局"}, "department"), ({"format": "PDF"}, "format"), ({"sort": "random"}, "sort"),
    ({"district": "上海"}, "district"), ({"open_type": "x"}, "open_type"), ({"share_type": "x"}, "share_type"),
    ({"category": "x"}, "category"), ({"color": "red"}, "color"), ({"update_frequency": "每小时"}, "update_frequency"),
])
def test_bad_parameters_are_400_naming_the_parameter(call, params, parameter):
    status, body = call("/api/datasets", **params)
    assert status == 400
    assert body["parameter"] == parameter and parameter in body["error"]


def test_dataset_detail_and_404(call):
    status, body = call("/api/datasets/SFJ-0010")
    assert status == 200 and body["title"] == "执业律师名录" and body["fields"]
    status, body = call("/api/datasets/NOPE-0000")
    assert status == 404 and "NOPE-0000" in body["error"]


def test_departments(call):
    status, body = call("/api/departments")
    assert status == 200 and body["count"] == 51
    jtw = next(d for d in body["results"] if d["code"] == "JTW")
    assert jtw["name"] == "贵阳市交通委员会" and "市交委" in jtw["short_names"] and jtw["datasets"] > 0
    assert sum(d["datasets"] for d in body["results"]) == 1139


def test_cached_answers_follow_a_catalogue_change(tmp_path):
    from catalog_index.ingest import load_files, validate_dataset
    from catalog_index.store import save_datasets
    from database import session_scope
    from tests.catalog.conftest import SAMPLE, fresh_db

    url = fresh_db(tmp_path)
    load_files(SAMPLE, url, progress=False)
    app = web.Application()
    app["db_url"] = url
    setup_routes(app)

    async def titles(client, q: str) -> list[str]:
        resp = await client.get("/api/datasets", params={"q": q})
        return [r["title"] for r in (await resp.json())["results"]]

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with TestClient(TestServer(app)) as client:
            before = await titles(client, "共享电单车停放点位")
            again = await titles(client, "共享电单车停放点位")  # from the response cache
            raw = {"id": "JTW-9001", "title": "共享电单车停放点位", "description": "电单车停放点位", "department": "",
                   "department_code": "JTW", "category": "交通出行", "keywords": ["电单车"], "fields": ["点位名称"],
                   "formats": ["CSV"], "share_type": "无条件共享", "share_condition": "", "open_type": "无条件开放",
                   "open_condition": "", "update_frequency": "每月", "record_count": 10, "district": "市本级",
                   "has_api": False, "published": "2024-01-01", "updated": "2024-02-01"}
            with session_scope(url) as session:
                save_datasets(session, [validate_dataset(raw)])
            return before, again, await titles(client, "共享电单车停放点位")

    before, again, after = asyncio.run(scenario())
    assert before == again and "共享电单车停放点位" not in before
    assert after[0] == "共享电单车停放点位"

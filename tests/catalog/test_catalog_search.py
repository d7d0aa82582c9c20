"""Search behaviour on the sample catalogue: ranking, filters (parameters and text), facets, paging."""

from __future__ import annotations

import json

import pytest

import settings
from catalog_index.departments import resolve
from catalog_index.search import InvalidParameter, get_dataset, search
from tests.catalog.conftest import titles

TITLES = [json.loads(line)["title"] for line in
          (settings.ROOT / "data" / "catalog" / "guiyang_catalog.jsonl").read_text(encoding="utf-8").splitlines()]


def ids(result) -> list[str]:
    return [r["id"] for r in result.results]


@pytest.mark.parametrize("title", [TITLES[i] for i in range(0, len(TITLES), 97)])
def test_exact_title_ranks_first(session, title):
    result = search(session, title)
    assert result.results[0]["title"] == title
    assert not result.low_confidence


def test_phrase_inside_title_ranks_before_keyword_matches(session):
    result = search(session, "公交线路")
    top = [r["title"] for r in result.results[:5]]
    assert all("公交线路" in t for t in top)
    assert "<em>公交线路</em>" in result.results[0]["highlight"]


def test_word_the_user_typed_ranks_before_its_synonyms(session):
    # 宠物看病 is a keyword of the animal clinics; 看病's synonyms (医疗机构, 医院) are in many hospital titles.
    result = search(session, "宠物看病")
    assert result.results[0]["title"] == "动物诊疗机构名录"


def test_title_hit_ranks_before_a_match_only_in_the_description(session):
    result = search(session, "疫苗", rows=100)
    titles = [r["title"] for r in result.results]
    first_without = next(i for i, t in enumerate(titles) if "疫苗" not in t)
    assert first_without > 0 and all("疫苗" not in t for t in titles[first_without:])
    scores = [r["score"] for r in result.results]
    assert scores[0] > scores[first_without] > 0


def test_postings_of_the_snapshot_match_the_index(session):
    from catalog_index.columns import snapshot

    snap = snapshot(session)
    rows = session.connection().exec_driver_sql("SELECT rowid, title, keywords FROM search_docs").all()
    for field_name, column in (("title", 1), ("keywords", 2)):
        postings = snap.postings[field_name]
        for term in ("公交", "医疗机构", "疫苗", "不存在的词"):
            expected = sorted(r[0] for r in rows if term in (r[column] or "").split())
            assert postings.rows(term).tolist() == expected
        assert postings.length[rows[0][0]] == len(rows[0][1 if field_name == "title" else 2].split())


def test_abbreviation_becomes_a_department_filter(session):
    result = search(session, "市交委的停车场数据")
    assert result.applied_filters == {"department": "JTW"}
    assert result.count > 0 and all(r["department"] == "贵阳市交通委员会" for r in result.results)
    assert "公共停车场信息" in [r["title"] for r in result.results[:3]]
    only_department = search(session, "市卫健委的数据", rows=100)
    assert only_department.applied_filters == {"department": "WJJ"}
    assert only_department.count == len(only_department.results) > 20
    assert {r["department"] for r in only_department.results} == {"贵阳市卫生健康局"}


@pytest.mark.parametrize("text,code", [("市交委", "JTW"), ("交委", "JTW"), ("贵阳市交通委员会", "JTW"),
                                       ("交通委员会", "JTW"), ("卫健委", "WJJ"), ("市卫健委", "WJJ"), ("JTW", "JTW")])
def test_resolve(session, text, code):
    assert resolve(session, text).code == code


def test_resolve_unknown(session):
    assert resolve(session, "火星管理局") is None
    assert resolve(session, "") is None


def test_filters_from_query_text(session):
    district = search(session, "花溪区的药店")
    assert district.applied_filters == {"district": "花溪区"}
    assert district.results[0]["title"] == "花溪区药品零售企业许可信息"
    api = search(session, "有API的公交数据")
    assert api.applied_filters == {"has_api": True}
    assert api.count > 0 and all(r["has_api"] for r in api.results)
    excel = search(session, "空气质量 excel")
    assert excel.applied_filters == {"format": "XLSX"} and all("XLSX" in r["formats"] for r in excel.results)
    opened = search(session, "无条件开放的医保数据")
    assert opened.applied_filters == {"open_type": "无条件开放"}
    assert all(r["open_type"] == "无条件开放" for r in opened.results)


def test_a_district_without_its_own_edition_finds_the_city_wide_data(session):
    result = search(session, "花溪区的高考分数线")
    assert result.applied_filters == {"district": "花溪区"}
    assert result.results[0]["title"] == "普通高考报名及上线统计"  # the city-wide data, via a synonym


def test_text_filter_that_finds_nothing_is_dropped(session):
    result = search(session, "有API的高考分数线")
    assert result.applied_filters == {}
    assert result.results[0]["title"] == "普通高考报名及上线统计"
    assert result.low_confidence  # the data asked for has an API; this one only helps (grading rules)
    xml = search(session, "XML格式的养老院名单")
    assert xml.results[0]["title"] == "养老机构名录" and xml.low_confidence
    assert not search(session, "花溪区的高考分数线").low_confidence  # a district is a scope: city-wide data answers
    pdf = search(session, "统计年鉴PDF版下载")  # a format the catalogue never offers
    assert pdf.results[0]["title"] == "统计年鉴" and pdf.low_confidence
    assert not search(session, "统计年鉴 excel").low_confidence


def test_a_frequency_in_the_text_is_a_preference_a_parameter_a_filter(session):
    plain = titles(search(session, "招聘数据"))
    weekly = search(session, "每周更新的招聘数据")
    assert plain[0] == "企业招聘岗位信息" and titles(weekly)[0] == "国有企业招聘公告"  # updated every week
    assert weekly.applied_filters == {} and "企业招聘岗位信息" in titles(weekly)  # daily data stays listed
    strict = search(session, "招聘", update_frequency="每周", rows=50)
    assert strict.count and strict.facets["update_frequency"] == [{"name": "每周", "count": strict.count}]


def test_explicit_filters_and_facets(session):
    everything = search(session, "", rows=5)
    assert everything.count == 1139 and not everything.low_confidence
    for facet in ("department", "district", "category", "format", "open_type", "share_type", "has_api"):
        counts = everything.facets[facet]
        assert counts == sorted(counts, key=lambda c: (-c["count"], str(c["name"])))
    assert sum(c["count"] for c in everything.facets["district"]) == 1139
    assert {"name": "API", "count": 116} in everything.facets["format"]
    filtered = search(session, "", district="花溪区", open_type="无条件开放", format="JSON")
    assert filtered.count == sum(c["count"] for c in filtered.facets["category"])
    assert {f["name"] for f in filtered.facets["district"]} == {"花溪区", "市本级"}  # a district keeps city-wide data
    assert sum(f["count"] for f in filtered.facets["district"]) == filtered.count
    own = next(f["count"] for f in filtered.facets["district"] if f["name"] == "花溪区")
    assert [r["district"] for r in filtered.results[:own]] == ["花溪区"] * min(own, len(filtered.results))  # own first
    by_name = search(session, "公交", department="公交集团")
    assert by_name.count > 0 and {r["department"] for r in by_name.results} == {"贵阳公共交通（集团）有限公司"}
    assert search(session, "", has_api="true").count == 116
    assert search(session, "", category="交通出行").facets["category"] == [{"name": "交通出行", "count": 96}]


def test_paging_and_sorting(session):
    first = search(session, "统计", rows=10, page=1)
    second = search(session, "统计", rows=10, page=2)
    both = search(session, "统计", rows=20, page=1)
    assert ids(first) + ids(second) == ids(both)
    assert first.count == second.count > 20
    beyond = search(session, "统计", rows=10, page=999)
    assert beyond.results == [] and beyond.count == first.count
    assert search(session, "", rows=500).rows == 100
    by_date = search(session, "公交", sort="updated", rows=50)
    dates = [r["updated"] for r in by_date.results]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("query,expected", [
    ("去哪里看病", "医疗机构名录"), ("充电桩在哪", "电动汽车公共充电设施分布"), ("我想坐地铁", "轨道交通线路基本信息"),
    ("幼儿圆名录", "幼儿园名录"), ("醫療機構名錄", "医疗机构名录"), ("PM2.5", "环境空气质量实时监测数据"),
    ("PM2。5实时数据", "环境空气质量实时监测数据"), ("gongjiao zhandian", "公交站点位置及途经线路"), ("jia you zhan", "成品油零售加油站和加气站分布"),
    ("医 保 定 点 药 店", "医保定点零售药店名录"), ("公基金贷款利率", "住房公积金个人贷款利率执行表"),
    ("公基金缴存比例", "住房公积金缴存基数及比例标准"), ("车祸多发路段", "道路交通事故多发点段"),
])
def test_everyday_words_typos_and_traditional_characters(session, query, expected):
    result = search(session, query)
    assert expected in [r["title"] for r in result.results[:3]]
    assert not result.low_confidence


@pytest.mark.parametrize(("traditional", "simplified"), [("停車場收費標準", "停车场收费标准"), ("天氣預報", "天气预报")])
def test_traditional_characters_rank_like_simplified_ones(session, traditional, simplified):
    # Both sides of the ranking read the simplified text: the embedder knows 停车场 far better than 停車場.
    assert ids(search(session, traditional)) == ids(search(session, simplified))


@pytest.mark.parametrize("query", ["火星探测数据", "比特币挖矿数据", "明星八卦新闻", "航班起降时刻"])
def test_data_that_does_not_exist_is_not_a_confident_hit(session, query):
    result = search(session, query)
    assert result.count == 0 or result.low_confidence


def test_generic_words_do_not_dominate(session):
    result = search(session, "律师信息数据查询")
    assert all("律师" in r["title"] for r in result.results[:2])
    # hybrid ranking: the third 律师 dataset (no lexical match for 查询) comes from the vectors, tied with a
    # generic registry (市场主体登记信息) there
    assert sum("律师" in r["title"] for r in result.results[:5]) == 3
    assert not result.low_confidence


@pytest.mark.parametrize("kwargs,param", [
    ({"department": "火星局"}, "department"), ({"district": "火星区"}, "district"), ({"format": "PDF"}, "format"),
    ({"has_api": "maybe"}, "has_api"), ({"open_type": "随便"}, "open_type"), ({"category": "八卦"}, "category"),
    ({"sort": "random"}, "sort"), ({"page": 0}, "page"), ({"rows": "ten"}, "rows"), ({"q": "长" * 300}, "q"),
])
def test_invalid_parameters(session, kwargs, param):
    q = kwargs.pop("q", "公交")
    with pytest.raises(InvalidParameter) as err:
        search(session, q, **kwargs)
    assert err.value.param == param


def test_result_shape_and_full_record(session):
    result = search(session, "执业律师名录")
    assert set(result.to_dict()) >= {"count", "page", "rows", "low_confidence", "results", "facets"}
    row = result.results[0]
    assert set(row) == {"id", "title", "department", "category", "open_type", "share_type", "formats", "has_api",
                        "district", "updated", "score", "highlight"}
    record = get_dataset(session, row["id"])
    assert record["title"] == "执业律师名录" and record["department"] == "贵阳市司法局"
    assert record["fields"] and record["open_condition"] and record["department_short_names"] == ["市司法局", "司法局"]
    assert get_dataset(session, "NOPE-0000") is None

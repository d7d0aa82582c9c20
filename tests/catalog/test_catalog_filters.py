"""One declaration per search filter (catalog_index.filters): every reader of filters follows FILTERS."""

from __future__ import annotations

import pytest

from catalog_index.__main__ import parser
from catalog_index.columns import DATASET_COLUMNS, snapshot
from catalog_index.filters import FILTERS, NAMES, InvalidParameter, check, describe, from_entities, read_text
from catalog_index.models import Dataset
from catalog_index.search import search
from tickets.demand import FILTER_KEYS
from web.api_datasets import KNOWN_PARAMS


def test_every_filter_reaches_search_api_cli_demand_report_and_facets(session):
    everything = search(session, "", rows=1)
    assert list(everything.facets) == list(NAMES)
    options = parser().parse_args(["search"] + [f"--{n.replace('_', '-')}=x" for n in NAMES])
    assert all(getattr(options, n) == "x" for n in NAMES)
    assert set(NAMES) <= KNOWN_PARAMS and FILTER_KEYS == NAMES
    for spec in FILTERS:
        assert spec.column in Dataset.__table__.c and spec.column in DATASET_COLUMNS
        value = everything.facets[spec.name][0]["name"]  # the most frequent value, as the facet shows it
        if spec.department_codes:
            value = check(session, {spec.name: value})[spec.name]
        narrowed = search(session, "", **{spec.name: value})
        assert narrowed.count == everything.facets[spec.name][0]["count"]


def test_unknown_filter_is_an_invalid_parameter(session):
    with pytest.raises(InvalidParameter) as err:
        search(session, "公交", colour="红")
    assert err.value.param == "colour"


def test_parameters_are_canonicalised(session):
    assert check(session, {"district": "花溪", "format": " excel ", "has_api": "1", "department": "市交委",
                           "open_type": None, "category": ""}) == {
        "district": "花溪区", "format": "XLSX", "has_api": True, "department": "JTW"}


def test_filters_read_from_text_in_order(session):
    departments = snapshot(session).departments
    rest, found = read_text("花溪区 無條件開放 市交委 API接口 csv 数据", departments)
    assert found == {"open_type": "无条件开放", "has_api": True, "format": "CSV", "department": "JTW",
                     "district": "花溪区"}
    assert rest.split() == ["数据"]
    assert read_text("csv2023 白云的公园", departments) == ("csv2023 白云的公园", {})  # whole words; 白云 is ambiguous


def test_entities_and_how_the_assistant_names_filters():
    entities = [{"entity": "data_format", "value": "API"}, {"entity": "district", "value": "花溪区"},
                {"entity": "ordinal", "value": "第一个"}]
    assert from_entities(entities) == {"has_api": True, "district": "花溪区"}
    assert from_entities([{"entity": "data_format", "value": "CSV"}]) == {"format": "CSV"}
    assert describe({"district": "花溪区", "has_api": True}) == "花溪区、有API"

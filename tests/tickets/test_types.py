"""The ticket type registry: every type is complete wherever it is used, and the staff API and the conversation
accept and reject the same answers (they run the same rules)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import settings
from actions import ticket_forms
from tests.tickets.conftest import action_names
from tickets import fields, numbering, types, workdays
from tickets.fields import Invalid

DOMAIN = {}
for part in sorted((settings.ROOT / "domain").glob("*.yml")):
    for key, value in (yaml.safe_load(part.read_text(encoding="utf-8")) or {}).items():
        if isinstance(value, dict):
            DOMAIN.setdefault(key, {}).update(value)
        elif isinstance(value, list):
            DOMAIN.setdefault(key, []).extend(value)


@pytest.fixture(autouse=True)
def _catalog(catalog_db_url, monkeypatch):
    monkeypatch.setenv("DB_URL", catalog_db_url)


@pytest.mark.parametrize("t", types.TYPES.values(), ids=types.NAMES)
def test_every_type_is_declared_everywhere_it_is_used(t):
    number = numbering.new_number(t.name, date(2026, 11, 27))
    assert number.startswith(f"{t.prefix}20261127-") and numbering.normalise(number.lower()) == number
    assert workdays.deadline(t.name).working_days > 0
    assert bool(workdays.deadline(t.name).extension_working_days) == t.extension
    form = DOMAIN["forms"][t.form]["required_slots"]
    assert form == [*(f.slot for f in t.fields), "confirm_submit"]
    assert {f"validate_{t.form}", f"action_submit_{t.name}"} <= action_names(DOMAIN)
    for field in t.fields:
        assert field.slot in DOMAIN["slots"] and f"utter_invalid_{field.slot}" in DOMAIN["responses"], field.slot
        assert field.column in types.COLUMNS


def test_lists_of_types_in_user_texts_come_from_the_registry():
    assert types.either(["SQ"]) == "SQ"
    assert types.either(["SQ", "TS"]) == "SQ 或 TS"
    assert types.either(["SQ", "TS", "HD"]) == "SQ、TS 或 HD"


# (ticket type, field slot, answer, kept value or None when the rule rejects it)
ANSWERS = [
    ("data_request", "requested_data", "全市公厕位置", "全市公厕位置"),
    ("data_request", "requested_data", "啊", None),
    ("data_request", "purpose", "做研究", None),
    ("data_request", "purpose", "用于开发公交查询小程序", "用于开发公交查询小程序"),
    ("data_request", "applicant_type", "我们是一家公司", "企业"),
    ("data_request", "applicant_type", "随便", None),
    ("data_request", "phone", "138 1234 5678", "13812345678"),
    ("data_request", "phone", "12345", None),
    ("data_request", "email", "跳过", fields.NO_EMAIL),
    ("data_request", "email", "not-an-address", None),
    ("complaint", "complaint_category", "网站打不开", "平台服务"),
    ("complaint", "complaint_category", "天气", None),
    ("complaint", "complaint_department", "交委", "贵阳市交通委员会"),
    ("complaint", "complaint_department", "火星管理局", None),
    ("complaint", "complaint_description", "不好用", None),
    ("complaint", "phone", "匿名", fields.ANONYMOUS),
]
BASE = {
    "data_request": {"requested_data": "全市公厕位置", "purpose": "地图标注用的数据", "applicant_type": "个人",
                     "applicant_name": "贵州云数科技有限公司", "phone": "13812345678"},
    "complaint": {"category": "数据质量", "description": "公交站点数据里的站名和实际站牌对不上", "phone": "13812345678"},
}


@pytest.mark.parametrize(("name", "slot", "answer", "kept"), ANSWERS)
def test_the_api_and_the_conversation_apply_the_same_rule(name, slot, answer, kept, catalog_db_url):
    t = types.get(name)
    field = next(f for f in t.fields if f.slot == slot)
    tracker = Tracker("rules-user", {"requested_slot": slot}, {"text": answer, "intent": {"name": "inform"}},
                      [], False, None, {"name": t.form}, "action_listen")
    dispatcher = CollectingDispatcher()
    said = asyncio.run(ticket_forms.VALIDATION[name]().check(field, answer, dispatcher, tracker, DOMAIN))
    assert said[slot] == kept
    assert bool(dispatcher.messages) == (kept is None or kept in field.notices)
    body = {"type": name, **BASE[name], field.column: answer}
    if kept is None:
        with pytest.raises(Invalid) as raised:
            types.from_api(body, catalog_db_url)
        assert raised.value.message.startswith(field.column)
    else:
        _, columns = types.from_api(body, catalog_db_url)
        assert {**field.columns(kept)}.items() <= columns.items()


def test_the_api_fills_what_the_conversation_derives(catalog_db_url):
    _, columns = types.from_api({"type": "data_request", **BASE["data_request"], "requested_data": "",
                                 "dataset_id": "CDC-0001"}, catalog_db_url)
    assert columns["dataset_id"] == "CDC-0001" and columns["department"] == "贵阳市疾病预防控制中心"
    _, columns = types.from_api({"type": "complaint", **BASE["complaint"], "phone": "", "anonymous": True},
                                catalog_db_url)
    assert columns["anonymous"] is True and columns["phone"] is None
    with pytest.raises(Invalid, match="missing fields for a data_request: requested_data or dataset_id"):
        types.from_api({"type": "data_request", **BASE["data_request"], "requested_data": ""}, catalog_db_url)
    with pytest.raises(Invalid, match="phone is required for a data_request"):
        types.from_api({"type": "data_request", **BASE["data_request"], "anonymous": True}, catalog_db_url)

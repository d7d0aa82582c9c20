"""The ticket actions called directly (rasa-sdk Tracker + CollectingDispatcher) on the real sample catalogue.

Their messages name responses of the domain; `run` renders them with Rasa's own response generator, as the Rasa
server does with what the action server returns.
"""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import settings
from actions import ticket_forms
from database import session_scope
from tests.tickets.conftest import action_names
from tickets.models import Ticket

RASA_DOMAIN = Domain.load(str(settings.ROOT / "domain"))
DOMAIN = RASA_DOMAIN.as_dict()
NLG = TemplatedNaturalLanguageGenerator(RASA_DOMAIN.responses)
DataRequestForm, ComplaintForm = ticket_forms.VALIDATION["data_request"], ticket_forms.VALIDATION["complaint"]
SubmitDataRequest = ticket_forms.SUBMISSION["data_request"]


@pytest.fixture(autouse=True)
def _catalog(catalog_db_url, monkeypatch):
    monkeypatch.setenv("DB_URL", catalog_db_url)


def tracker(slots: dict, text: str = "", intent: str = "inform", form: str = "data_request_form",
            requested: str | None = None, channel: str = "socketio", entities: list | None = None) -> Tracker:
    slots = {"requested_slot": requested, **slots}
    events = [{"event": "user", "text": text, "input_channel": channel}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in slots.items()
               if k not in ("requested_slot", "form_invalid", "submission_key")]  # bookkeeping is not "recent"
    if form is None:  # activation, as Rasa 3.6 sends it: the loop is already set when the validation runs
        form = "data_request_form"
        events += [{"event": "user_featurization", "use_text_for_featurization": False},
                   {"event": "active_loop", "name": form}]
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or []}
    return Tracker("unit-user", slots, latest, events, False, None, {"name": form}, "action_listen")


def picked(dataset_id: str) -> list:
    """The entity of a 申请此数据 button payload."""
    return [{"entity": "dataset_id", "value": dataset_id}]


def run(action, t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, t, DOMAIN)
    events = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return events, [render(dict(m), t.slots) for m in dispatcher.messages]


def render(message: dict, slots: dict) -> dict:
    """What the Rasa server makes of an action server message (rasa.core.actions.action.RemoteAction)."""
    name = message.pop("response", None)
    draft = NLG.generate_from_slots(name, slots, "rest", **message) if name else {}
    assert draft is not None, f"no response {name}"
    draft.setdefault("buttons", []).extend(message.pop("buttons", None) or [])
    draft.update({k: v for k, v in message.items() if v})
    return {**draft, "response": name}


def slot_events(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_three_invalid_phones_offer_a_human():
    form = DataRequestForm()
    state = None
    for attempt in range(1, 4):
        events, messages = run(form, tracker({"phone": "12345", "form_invalid": state}, text="12345",
                                             requested="phone"))
        slots = slot_events(events)
        state = slots["form_invalid"]
        assert slots["phone"] is None and state == {"slot": "phone", "count": attempt}
        offered = any(m.get("response") == "utter_offer_human" for m in messages)
        assert offered == (attempt == 3)
    events, _ = run(form, tracker({"phone": "138 1234 5678", "form_invalid": state}, requested="phone"))
    assert slot_events(events)["phone"] == "13812345678" and slot_events(events)["form_invalid"] is None


def test_activation_sets_an_idempotency_key_and_explains_conditions():
    events, messages = run(DataRequestForm(), tracker({"dataset_id": "CDC-0001"}, form=None,
                                                                            entities=picked("CDC-0001")))
    slots = slot_events(events)
    assert len(slots["submission_key"]) == 32 and slots["dataset_id"] == "CDC-0001"
    assert slots["requested_slot"] == "purpose"  # the dataset replaces the free-text question
    assert "有条件开放" in messages[0]["text"]


def test_open_dataset_ends_the_form_and_points_to_the_download():
    events, _ = run(DataRequestForm(), tracker({"dataset_id": "CDC-0003"}, form=None,
                                                               entities=picked("CDC-0003")))
    assert slot_events(events)["requested_slot"] is None
    events, messages = run(SubmitDataRequest(), tracker({"dataset_id": "CDC-0003"}, form=None))
    assert "无条件开放" in messages[0]["text"] and slot_events(events)["dataset_id"] is None


def test_unknown_dataset_falls_back_to_free_text():
    events, messages = run(DataRequestForm(), tracker({"dataset_id": "NOPE-9999"}, form=None,
                                                                            entities=picked("NOPE-9999")))
    assert slot_events(events)["dataset_id"] is None and "没有编号" in messages[0]["text"]


def test_a_dataset_left_from_an_earlier_search_is_not_assumed():
    events, messages = run(DataRequestForm(), tracker({"dataset_id": "CDC-0003"}, form=None,
                                                                      text="我要申请数据", intent="request_data"))
    slots = slot_events(events)
    assert slots["dataset_id"] is None and "requested_slot" not in slots and messages == []  # Rasa asks requested_data


def test_change_a_field_with_its_new_value():
    filled = {"complaint_category": "数据质量", "complaint_department": "贵阳市交通委员会",
              "complaint_description": "公交站点数据里的站名和实际站牌对不上", "phone": "13812345678"}
    events, _ = run(ComplaintForm(), tracker(
        {**filled, "confirm_submit": "电话改成 0851-86861234"}, text="电话改成 0851-86861234",
        form="complaint_form", requested="confirm_submit"))
    slots = slot_events(events)
    assert slots["phone"] == "0851-86861234" and slots["confirm_submit"] is None
    events, messages = run(ComplaintForm(), tracker(
        {**filled, "confirm_submit": "change"}, text="部门写错了", intent="deny", form="complaint_form",
        requested="confirm_submit"))
    assert slot_events(events)["complaint_department"] is None and "涉及部门" in messages[0]["text"]


def test_department_abbreviations_and_not_sure():
    form = ComplaintForm()
    for said, expected in (("交委", "贵阳市交通委员会"), ("是市公安局的问题", "贵阳市公安局"), ("不太清楚", "不清楚")):
        events, _ = run(form, tracker({"complaint_department": said}, form="complaint_form",
                                      requested="complaint_department"))
        assert slot_events(events)["complaint_department"] == expected, said


def test_cancel_words_the_nlu_missed_end_the_form_without_a_ticket(catalog_db_url):
    events, _ = run(DataRequestForm(), tracker({"purpose": "不填了"}, requested="purpose"))
    slots = slot_events(events)
    assert slots["requested_slot"] is None and slots["confirm_submit"] == "cancelled"
    _, messages = run(SubmitDataRequest(), tracker({"confirm_submit": "cancelled"}, form=None))
    assert "已取消" in messages[0]["text"]


def test_submit_twice_one_ticket_web_channel(catalog_db_url):
    slots = {"requested_data": "全市公厕位置", "purpose": "地图标注", "applicant_type": "个人",
             "applicant_name": "李娜", "phone": "13812345678", "email": "none", "confirm_submit": "yes",
             "submission_key": "unit-key"}
    numbers = set()
    for _ in range(2):
        _, messages = run(SubmitDataRequest(), tracker(slots, form=None))
        assert "138****5678" in messages[0]["text"] and "13812345678" not in messages[0]["text"]
        numbers.add(messages[0]["text"].split("工单号：")[1][:17])
    assert len(numbers) == 1
    with session_scope(catalog_db_url) as session:
        ticket = session.query(Ticket).filter_by(number=numbers.pop()).one()
        assert ticket.channel == "web" and ticket.email is None


def test_the_action_server_registers_every_ticket_action():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert action_names(DOMAIN) <= set(executor.actions)


def test_the_idempotency_key_is_made_at_activation_only():
    events, _ = run(DataRequestForm(), tracker({"purpose": "做交通研究用的数据分析"}, requested="purpose",
                                                               form="data_request_form"))
    assert "submission_key" not in slot_events(events)

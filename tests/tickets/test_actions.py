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
            requested: str | None = None, channel: str = "socketio", entities: list | None = None,
            confidence: float = 1.0, activating: str = "data_request_form") -> Tracker:
    slots = {"requested_slot": requested, **slots}
    events = [{"event": "user", "text": text, "input_channel": channel}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in slots.items()
               if k not in ("requested_slot", "form_invalid", "submission_key")]  # bookkeeping is not "recent"
    if form is None:  # activation, as Rasa 3.6 sends it: the loop is already set when the validation runs
        form = activating
        events += [{"event": "user_featurization", "use_text_for_featurization": False},
                   {"event": "active_loop", "name": form}]
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
              "intent_ranking": [{"name": intent, "confidence": confidence}]}
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


# -- forms that hold: the slot answer wins unless the message is clearly something else ---------------------------
LookupForm = __import__("actions.ticket_lookup", fromlist=["x"]).ValidateTicketLookupForm
COMPLAINT = {"complaint_category": "数据质量"}


def answer(form, slots: dict, requested: str, text: str, intent: str, confidence: float = 1.0,
           form_name: str = "data_request_form") -> tuple[dict, list[dict]]:
    """The form's validation of `text`, given while the form asks for `requested` and read by NLU as `intent`."""
    events, messages = run(form, tracker({**slots, requested: text}, text=text, intent=intent, form=form_name,
                                         requested=requested, confidence=confidence))
    return slot_events(events), messages


@pytest.mark.parametrize(("form", "form_name", "slots", "requested", "text", "intent", "kept"), [
    (DataRequestForm, "data_request_form", {}, "requested_data", "全市公园的位置和开放时间", "search_dataset",
     "全市公园的位置和开放时间"),
    (DataRequestForm, "data_request_form", {}, "requested_data", "全市公园的位置和开放时间", "ask_measures",
     "全市公园的位置和开放时间"),
    (DataRequestForm, "data_request_form", {}, "purpose", "用于城市规划研究，分析开放数据里的公园分布", "ask_measures",
     "用于城市规划研究，分析开放数据里的公园分布"),
    (DataRequestForm, "data_request_form", {"applicant_type": "个人"}, "applicant_name", "我叫张三", "out_of_scope",
     "张三"),
    (DataRequestForm, "data_request_form", {"applicant_type": "企业"}, "applicant_name",
     "我们是贵州云数科技有限公司", "request_data", "贵州云数科技有限公司"),
    (DataRequestForm, "data_request_form", {}, "applicant_type", "企业", "affirm", "企业"),
    (ComplaintForm, "complaint_form", COMPLAINT, "complaint_department", "住建局", "ask_measures",
     "贵阳市住房和城乡建设局"),
    (ComplaintForm, "complaint_form", COMPLAINT, "complaint_department", "交通委", "search_dataset",
     "贵阳市交通委员会"),
    (ComplaintForm, "complaint_form", COMPLAINT, "complaint_department", "城管", "file_complaint",
     "贵阳市综合行政执法局"),
    (LookupForm, "ticket_lookup_form", {"ticket_no": "SQ20261127-7K3M9Q"}, "phone_tail", "5678", "deny", "5678"),
])
def test_a_slot_answer_nlu_misreads_fills_the_slot(form, form_name, slots, requested, text, intent, kept):
    filled, messages = answer(form(), slots, requested, text, intent, form_name=form_name)
    assert filled[requested] == kept
    assert messages == []  # no Measures answer, no "invalid" explanation


def test_a_confident_question_on_the_measures_is_answered_and_the_question_asked_again():
    question = "申请开放数据，部门多久要答复？"
    filled, messages = answer(DataRequestForm(), {}, "purpose", question, "ask_measures")
    assert filled["purpose"] is None and "requested_slot" not in filled  # Rasa's form asks for the purpose again
    assert len(messages) == 1 and "《" in messages[0]["text"] and "用途" not in messages[0]["text"]
    # the same words, NLU unsure: the answer to the question being asked
    filled, messages = answer(DataRequestForm(), {}, "purpose", question, "ask_measures", confidence=0.55)
    assert filled["purpose"] == question and messages == []
    # in the lookup form too: the number is asked again, not called malformed
    filled, messages = answer(LookupForm(), {}, "ticket_no", question, "ask_measures", form_name="ticket_lookup_form")
    assert filled["ticket_no"] is None and len(messages) == 1 and "格式不对" not in messages[0]["text"]


def test_a_question_without_a_passage_is_not_a_digression():
    """NLU sure of ask_measures, but the knowledge base has nothing: the form's rule judges the answer."""
    filled, messages = answer(ComplaintForm(), COMPLAINT, "complaint_department", "住建局是哪个部门管的？",
                              "ask_measures", form_name="complaint_form")
    assert filled["complaint_department"] == "贵阳市住房和城乡建设局" and messages == []


def test_the_complaint_phone_is_not_taken_from_the_description():
    description = "公交站点数据有错，我打了0851-86861234也没人接，站名和实际站牌对不上"
    filled, _ = answer(ComplaintForm(), COMPLAINT, "complaint_description", description, "file_complaint",
                       form_name="complaint_form")
    assert "phone" not in filled and "0851-****1234" in filled["complaint_description"]


@pytest.mark.parametrize("text", ["13912345678", "我的电话是 139 1234 5678", "+86 13912345678"])
def test_a_message_that_is_just_a_phone_is_the_phone(text):
    filled, messages = answer(ComplaintForm(), COMPLAINT, "complaint_description", text, "inform",
                              form_name="complaint_form")
    assert filled["phone"] == "13912345678" and filled["complaint_description"] is None
    assert messages == []  # no "描述有点简单": the description is simply asked again


def test_a_description_given_for_the_category_is_kept():
    description = "开放平台上公交线路数据的下载链接点开一直是404，已经一周了"
    filled, messages = answer(ComplaintForm(), {}, "complaint_category", description, "file_complaint",
                              form_name="complaint_form")
    assert filled["complaint_description"] == description and filled["complaint_category"] is None
    assert [m["response"] for m in messages] == ["utter_description_kept"]


def test_the_message_that_opens_a_complaint_is_its_description():
    opening = "我要投诉，公交集团的实时到站接口这周经常挂，返回的全是空数据"
    events, messages = run(ComplaintForm(), tracker({}, text=opening, intent="file_complaint", form=None,
                                                     activating="complaint_form"))
    filled = slot_events(events)
    assert filled["complaint_description"] == opening
    assert filled["complaint_department"] == "贵阳公共交通（集团）有限公司"
    assert [m["response"] for m in messages] == ["utter_description_kept", "utter_department_from_description"]


@pytest.mark.parametrize("opening", ["我要投诉", "投诉举报", "我想反映数据质量方面的问题", "/file_complaint"])
def test_an_opening_without_a_description_keeps_nothing(opening):
    events, messages = run(ComplaintForm(), tracker({}, text=opening, intent="file_complaint", form=None,
                                                     activating="complaint_form"))
    assert "complaint_description" not in slot_events(events) and messages == []
    for category, kept in (("数据质量", "数据质量"), ("我要反映的是数据质量方面的问题", "数据质量"), ("5", "其他")):
        filled, _ = answer(ComplaintForm(), {}, "complaint_category", category, "inform", form_name="complaint_form")
        assert filled["complaint_category"] == kept and "complaint_description" not in filled, category


def test_the_department_named_in_the_description_is_taken():
    description = "交通委发布的公交站点数据里，站名和实际站牌对不上，花溪区有十几个站都错了"
    filled, messages = answer(ComplaintForm(), COMPLAINT, "complaint_description", description, "file_complaint",
                              form_name="complaint_form")
    assert filled["complaint_department"] == "贵阳市交通委员会"
    assert "贵阳市交通委员会" in messages[0]["text"] and "修改" in messages[0]["text"]
    # a department given before is not replaced
    filled, messages = answer(ComplaintForm(), {**COMPLAINT, "complaint_department": "贵阳市公安局"},
                              "complaint_description", description, "inform", form_name="complaint_form")
    assert filled.get("complaint_department", "贵阳市公安局") == "贵阳市公安局" and messages == []


def test_every_question_of_every_form_offers_to_cancel():
    asked = 0
    for form, spec in DOMAIN["forms"].items():
        for slot in spec["required_slots"]:
            name = next((n for n in (f"utter_ask_{form}_{slot}", f"utter_ask_{slot}") if n in DOMAIN["responses"]),
                        None)
            if name is None:  # asked by an action: action_ask_confirm_submit, action_ask_ticket_no
                continue
            for variant in DOMAIN["responses"][name]:
                asked += 1
                assert "取消" in variant["text"], name
                assert {"title": "取消", "payload": "/cancel"} in variant.get("buttons", []), name
    assert asked >= 14
    filled = {"complaint_category": "数据质量", "complaint_department": "贵阳市交通委员会",
              "complaint_description": "公交站点数据里的站名和实际站牌对不上", "phone": "13812345678"}
    for said, intent in (("提交前看看", "inform"), ("修改", "deny")):
        _, messages = run(ticket_forms.ActionAskConfirmSubmit(), tracker(
            filled, text=said, intent=intent, form="complaint_form", requested="confirm_submit"))
        assert "取消" in messages[0]["text"] and messages[0]["buttons"][-1]["payload"] == "/cancel"

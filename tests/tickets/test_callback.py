"""The callback request (回电预约, ticket type `callback`) and 转人工 (actions/handoff.py): working hours on the
Chinese calendar, the fields' rules, the staff API's rules, the form's actions on a real database, and the texts
action_offer_human says inside and outside working hours (the clock is injected)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest
from rasa_sdk import Tracker

import settings
from actions import ticket_forms
from actions.handoff import ActionOfferHuman
from database import session_scope
from tests.tickets.test_actions import DOMAIN, run, slot_events, tracker
from tickets import fields, hours, service, types, workdays
from tickets.fields import Invalid

CallbackForm = ticket_forms.VALIDATION["callback"]
SubmitCallback = ticket_forms.SUBMISSION["callback"]
CHAT_JS = (settings.ROOT / "web/static/chat.js").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _catalog(catalog_db_url, monkeypatch):
    monkeypatch.setenv("DB_URL", catalog_db_url)


# -- working hours ----------------------------------------------------------------------------------------------
# (Beijing time, open now?, the next period's start as the assistant says it)
MOMENTS = [
    (datetime(2025, 11, 26, 10, 0), True, None),  # Wednesday morning
    (datetime(2025, 11, 26, 7, 30), False, "今天 9:00 后"),
    (datetime(2025, 11, 26, 12, 30), False, "今天 13:00 后"),  # lunch break
    (datetime(2025, 11, 26, 17, 0), False, "明天（11月27日，周四）9:00 后"),  # the end is not inside
    (datetime(2025, 11, 28, 18, 0), False, "下一个工作日（12月1日，周一）9:00 后"),  # Friday evening
    (datetime(2025, 11, 29, 10, 0), False, "下一个工作日（12月1日，周一）9:00 后"),  # Saturday
    (datetime(2025, 9, 30, 18, 0), False, "下一个工作日（10月9日，周四）9:00 后"),  # before National Day
    (datetime(2025, 10, 3, 10, 0), False, "下一个工作日（10月9日，周四）9:00 后"),  # a holiday on a Friday
    (datetime(2025, 10, 10, 20, 0), False, "明天（10月11日，周六）9:00 后"),  # a make-up working Saturday
]


@pytest.mark.parametrize(("moment", "open_now", "said"), MOMENTS, ids=[m[0].isoformat() for m in MOMENTS])
def test_working_hours_on_the_chinese_calendar(moment, open_now, said):
    state = hours.at(moment)
    assert state.open is open_now
    if said is not None:
        assert hours.describe_start(state.next_start, moment.date()) == said


def test_an_aware_moment_is_read_in_beijing_time():
    assert hours.at(datetime(2025, 11, 26, 2, 0, tzinfo=timezone.utc)).open  # 10:00 in Beijing
    assert not hours.at(datetime(2025, 11, 26, 10, 0, tzinfo=timezone.utc)).open  # 18:00 in Beijing


def test_hours_come_from_the_settings(monkeypatch):
    assert hours.describe_hours() == "工作日（周一至周五，法定节假日除外）9:00–12:00、13:00–17:00（北京时间）"
    monkeypatch.setenv("WORK_HOURS", "08:30-17:30")
    assert hours.describe_hours() == "工作日（周一至周五，法定节假日除外）8:30–17:30（北京时间）"
    assert hours.at(datetime(2025, 11, 26, 12, 30)).open
    for bad in ("9-17", "13:00-17:00,09:00-12:00", "09:00-12:00-13:00", "17:00-09:00"):
        result = subprocess.run([sys.executable, "-c", "import settings; settings.get()"], cwd=settings.ROOT,
                                env={"WORK_HOURS": bad, "PATH": "/usr/bin"}, capture_output=True, text=True)
        assert result.returncode != 0 and "WORK_HOURS must be ordered periods" in result.stderr, bad


# -- 转人工 -------------------------------------------------------------------------------------------------------

def offer(moment: datetime, form: str | None = None) -> list[dict]:
    t = Tracker("handoff-user", {}, {"text": "转人工", "intent": {"name": "human_handoff"}, "entities": []},
                [{"event": "user", "text": "转人工"}], False, None, {"name": form} if form else {}, "action_listen")
    events, messages = run(ActionOfferHuman(clock=lambda: moment), t)
    assert events == []
    return messages


def test_offer_inside_working_hours_books_a_callback_within_the_deadline():
    messages = offer(datetime(2025, 11, 26, 10, 0, tzinfo=workdays.CHINA))
    assert [m["response"] for m in messages] == ["utter_human_hotline", "utter_offer_callback_in_hours"]
    assert "12345" in messages[0]["text"] and "9:00–12:00、13:00–17:00" in messages[0]["text"]
    assert "工作人员会在1个工作日内给您回电" in messages[1]["text"]
    assert [(b["title"], b["payload"]) for b in messages[1]["buttons"]] == [("预约回电", "/request_callback"),
                                                                            ("不用了", "/deny")]


def test_offer_outside_working_hours_says_when_someone_will_call():
    messages = offer(datetime(2025, 11, 28, 19, 0, tzinfo=workdays.CHINA))
    assert messages[1]["response"] == "utter_offer_callback_after_hours"
    assert "现在不在工作时间" in messages[1]["text"]
    assert "工作人员会在下一个工作日（12月1日，周一）9:00 后给您回电" in messages[1]["text"]
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/request_callback", "/deny"]


@pytest.mark.parametrize("form", ["data_request_form", "complaint_form", "ticket_lookup_form", "callback_form"])
def test_inside_a_form_only_the_hotline_and_hours(form):
    messages = offer(datetime(2025, 11, 28, 19, 0, tzinfo=workdays.CHINA), form)
    assert [m["response"] for m in messages] == ["utter_human_hotline"]
    assert not messages[0].get("buttons")


def test_the_default_clock_is_beijing_time():
    assert ActionOfferHuman().clock().utcoffset() == workdays.CHINA.utcoffset(None)


# -- the type, its fields and the staff API's rules ----------------------------------------------------------

def test_registry_entry_and_deadline():
    t = types.get("callback")
    assert (t.prefix, t.label, t.form, t.extension, t.anonymous) == ("HD", "回电预约", "callback_form", False, False)
    assert [f.column for f in t.fields] == ["contact_name", "phone", "best_time", "question"]
    assert fields.PHONE in t.fields  # the same phone rule as the other forms
    rule = workdays.deadline("callback")
    assert (rule.working_days, rule.extension_working_days) == (1, 0)
    assert workdays.due_date("callback", date(2025, 11, 28)).date == date(2025, 12, 1)  # Friday → Monday
    assert types.either([x.prefix for x in types.TYPES.values()]) == "SQ、TS 或 HD"


# (slot, answer, kept value or None when the rule rejects it)
CALLBACK_ANSWERS = [
    ("contact_name", "王女士", "王女士"),
    ("contact_name", "不方便透露", fields.NO_NAME),
    ("contact_name", "不想说", fields.NO_NAME),
    ("contact_name", "跳过", fields.NO_NAME),
    ("contact_name", "13812345678", None),
    ("contact_name", "我" * 31, None),
    ("best_time", "工作日下午", "工作日下午"),
    ("best_time", "明天上午10点", "明天上午10点"),
    ("best_time", "随时", "随时"),
    ("best_time", "下", None),
    ("callback_question", "想了解企业怎么申请交通数据", "想了解企业怎么申请交通数据"),
    ("callback_question", "问问", None),
    ("callback_question", "电话13812345678，问数据申请进度", "电话138****5678，问数据申请进度"),
    ("phone", "138 1234 5678", "13812345678"),
    ("phone", "匿名", None),  # a callback needs a number to call
]


@pytest.mark.parametrize(("slot", "answer", "kept"), CALLBACK_ANSWERS)
def test_callback_answers(slot, answer, kept):
    field = next(f for f in types.CALLBACK.fields if f.slot == slot)
    ctx = fields.Context(types.CALLBACK, {})
    if kept is None:
        with pytest.raises(Invalid):
            field.rule(answer, ctx)
    else:
        assert field.rule(answer, ctx) == kept


def test_staff_api_rules_for_a_callback():
    body = {"type": "callback", "phone": "13812345678", "best_time": "工作日下午", "question": "想了解数据申请进度"}
    t, columns = types.from_api(body)
    assert t is types.CALLBACK and "contact_name" not in columns
    assert columns == {"phone": "13812345678", "anonymous": False, "best_time": "工作日下午",
                       "question": "想了解数据申请进度"}
    assert types.from_api({**body, "contact_name": "不方便透露"})[1]["contact_name"] is None
    with pytest.raises(Invalid, match="missing fields for a callback: phone"):
        types.from_api({k: v for k, v in body.items() if k != "phone"})
    with pytest.raises(Invalid, match="phone"):
        types.from_api({**body, "phone": None, "anonymous": True})


# -- the form's generated actions on a real database -----------------------------------------------------------

def test_callback_form_validation_and_submission():
    form = CallbackForm()
    events, messages = run(form, tracker({"contact_name": "不方便透露"}, text="不方便透露", form="callback_form",
                                         requested="contact_name"))
    assert slot_events(events)["contact_name"] == fields.NO_NAME
    events, messages = run(form, tracker({"phone": "12345"}, text="12345", form="callback_form", requested="phone"))
    assert slot_events(events)["phone"] is None and messages[0]["response"] == "utter_invalid_phone"

    slots = {"contact_name": fields.NO_NAME, "phone": "13812345678", "best_time": "工作日下午",
             "callback_question": "想了解企业怎么申请交通数据", "confirm_submit": "yes", "submission_key": "cb-unit-1"}
    summary = types.CALLBACK.render_summary(slots)
    assert summary.splitlines() == ["请核对您的回电预约：", "· 称呼：未提供", "· 回电号码：138****5678",
                                    "· 方便接听的时间：工作日下午", "· 咨询的问题：想了解企业怎么申请交通数据"]
    events, messages = run(SubmitCallback(), tracker(slots, form="callback_form"))
    text = messages[0]["text"]
    number = re.search(r"HD\d{8}-[0-9A-Z]{6}", text).group(0)
    assert "您的回电预约已提交" in text and "138****5678" in text and "13812345678" not in text
    assert {e["name"] for e in events if e.get("event") == "slot"} >= {"contact_name", "best_time",
                                                                       "callback_question", "phone"}
    with session_scope() as session:
        ticket = service.get(session, number)
        assert (ticket.type, ticket.contact_name, ticket.phone, ticket.best_time, ticket.question) == (
            "callback", None, "13812345678", "工作日下午", "想了解企业怎么申请交通数据")
        assert ticket.channel == "web"


# -- the domain: buttons, 取消, and the chat page's privacy notice before the first personal question --------------

def _js_regex(name: str) -> re.Pattern:
    return re.compile(re.search(rf"var {name} = /(.+)/;", CHAT_JS).group(1))


def test_every_callback_question_offers_cancel_and_the_privacy_notice_comes_first():
    personal, form_question = _js_regex("PERSONAL_QUESTION"), _js_regex("FORM_QUESTION")
    prompts = []
    for slot in DOMAIN["forms"]["callback_form"]["required_slots"][:-1]:
        name = next(n for n in (f"utter_ask_callback_form_{slot}", f"utter_ask_{slot}") if n in DOMAIN["responses"])
        prompt = DOMAIN["responses"][name][0]
        assert ("取消", "/cancel") in [(b["title"], b["payload"]) for b in prompt["buttons"]], name
        assert form_question.search(prompt["text"]), name  # the page keeps its 取消 chip and no rating
        prompts.append(prompt["text"])
    assert personal.search(prompts[0]) and personal.search(prompts[1])  # 称呼 and phone: consent before either

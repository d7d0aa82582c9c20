"""End to end through the REST channel: real Rasa server, real action server, real database.

Also the reading of short messages that decides the reply when NLU cannot (message_kind.py, actions/fallback.py)."""

from __future__ import annotations

import uuid

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import message_kind as kinds
from actions import fallback


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_greeting_is_chinese(desk):
    reply = desk.texts(desk.say(sender(), "你好"))
    assert "筑数助手" in reply


def test_small_talk_is_answered_and_a_farewell_number_is_a_goodbye(desk):
    thanks, goodbye, farewell = (desk.texts(turn) for turn in replies(desk, "谢谢", "再见", "88"))
    assert "不客气" in thanks and "再见" in goodbye and "再见" in farewell


def test_catalogue_counts_come_from_the_database(desk):
    reply = desk.texts(desk.say(sender(), "目录里有多少数据集"))
    assert "1139" in reply and "51" in reply and "116" in reply


def test_out_of_scope_says_what_the_assistant_does(desk):
    reply = desk.texts(desk.say(sender(), "帮我订一张去北京的机票"))
    assert "超出" in reply and "查找" in reply


# -- a reply to every message ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("好的", kinds.ACKNOWLEDGEMENT), ("嗯嗯嗯", kinds.ACKNOWLEDGEMENT), ("OK！", kinds.ACKNOWLEDGEMENT),
        ("👍", kinds.ACKNOWLEDGEMENT), ("👍🏻", kinds.ACKNOWLEDGEMENT), ("好的，收到", kinds.ACKNOWLEDGEMENT),
        ("提交", kinds.NOTHING_PENDING), ("确认提交", kinds.NOTHING_PENDING),
        ("？", kinds.NOISE), ("。。。", kinds.NOISE), ("😂", kinds.NOISE), ("  ", kinds.NOISE),
        ("13812345678", kinds.PHONE), ("138 1234 5678", kinds.PHONE), ("0851-86861234", kinds.PHONE),
        ("123", kinds.NUMBER), ("２０２６", kinds.NUMBER), ("88", kinds.FAREWELL), ("886~", kinds.FAREWELL),
        ("8686", kinds.NUMBER), ("sq20261127-7k3m9q", kinds.TICKET_NO),
        ("/affirm", kinds.BUTTON), ('/dataset_detail{"dataset_id": "JTW-0004"}', kinds.BUTTON),
        ("asdfgh", kinds.WORDS), ("开放数据收费吗", kinds.WORDS), ("我的电话13812345678", kinds.WORDS),
    ],
)
def test_short_messages_are_read_from_their_text(text, kind):
    assert kinds.read(text) == kind


def run(action, text: str, intent: str, confidence: float = 0.9, events: list | None = None) -> list[dict]:
    """Run an action of actions/fallback.py on a real rasa-sdk tracker; the messages it sends."""
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    tracker = Tracker("u1", {}, message, [*(events or []), {"event": "user", "text": text}], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, {})
    return dispatcher.messages


def test_farewell_numbers_are_a_goodbye():
    assert run(fallback.ActionFallback(), "88", "inform", 0.99)[0]["response"] == "utter_goodbye"  # NLU: a number
    assert run(fallback.ActionFallback(), "886", "nlu_fallback", 0.0)[0]["response"] == "utter_goodbye"


def test_unsure_words_are_not_taken_for_an_acknowledgement():
    (reply,) = run(fallback.ActionFallback(), "asdfgh", "affirm", 0.42)
    assert reply["text"] == fallback.NOT_UNDERSTOOD
    (reply,) = run(fallback.ActionFallback(), "好滴呀", "affirm", 0.97)
    assert reply["text"] == fallback.ACKNOWLEDGED


def test_second_miss_in_a_row_offers_a_human():
    earlier = [{"event": "user", "text": "？"}, {"event": "bot", "text": fallback.NOT_UNDERSTOOD}]
    messages = run(fallback.ActionFallback(), "。。。", "nlu_fallback", 0.4, earlier)
    assert [m.get("text") or m.get("response") for m in messages] == [fallback.STILL_NOT_UNDERSTOOD, "utter_offer_human"]


def test_the_core_fallback_replies_and_still_reverts_the_turn():
    message = {"text": "👍", "intent": {"name": "affirm", "confidence": 0.75}, "entities": []}
    tracker = Tracker("u1", {}, message, [{"event": "user", "text": "👍"}], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert fallback.ActionDefaultFallback().run(dispatcher, tracker, {}) == [{"event": "rewind", "timestamp": None}]
    assert dispatcher.messages[0]["text"] == fallback.ACKNOWLEDGED


def replies(desk, *texts: str) -> list[list[dict]]:
    """The bot messages of each turn, all in one conversation."""
    who = sender()
    return [desk.say(who, text) for text in texts]


MENU_TITLES = {button["title"] for button in fallback.MENU}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("好的", "还有什么可以帮您"),
        ("嗯嗯", "还有什么可以帮您"),
        ("👍", "还有什么可以帮您"),
        ("提交", "没有需要您提交"),
        ("？", "没太明白"),
        ("。。。", "没太明白"),
        ("😂", "没太明白"),
        ("13812345678", "电话号码（138****5678）"),
        ("123", "工单号"),
        ("/affirm", "按钮属于前面的对话"),
        ("/deny", "按钮属于前面的对话"),
    ],
)
def test_every_short_message_gets_a_sensible_reply(desk, text, expected):
    (turn,) = replies(desk, text)
    reply = desk.texts(turn)
    assert reply.strip(), f"no reply to {text!r}"
    assert expected in reply, reply
    assert "再见" not in reply and "13812345678" not in reply
    buttons = [button for message in turn for button in message.get("buttons", [])]
    assert buttons, "a short reply always offers what to do next"


def test_acknowledgement_after_a_search_offers_the_menu(desk):
    search, ack = replies(desk, "公交站点数据", "好的")
    assert "为您找到" in desk.texts(search)
    assert "还有什么可以帮您" in desk.texts(ack)
    assert {button["title"] for message in ack for button in message.get("buttons", [])} == MENU_TITLES


def test_a_stale_dataset_button_still_gets_an_answer(desk):
    (turn,) = replies(desk, "/dataset_detail")
    assert "数据集" in desk.texts(turn)


def test_not_understood_twice_offers_a_human(desk):
    first, second = replies(desk, "？？", "。。。")
    assert "没太明白" in desk.texts(first)
    assert "还是没能理解" in desk.texts(second) and "12345" in desk.texts(second)


def test_a_number_is_no_goodbye_and_the_conversation_goes_on(desk):
    number, greeting = replies(desk, "123", "你好")
    assert "再见" not in desk.texts(number)
    assert "筑数助手" in desk.texts(greeting)

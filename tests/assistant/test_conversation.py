"""End to end through the REST channel: real Rasa server, real action server, real database."""

from __future__ import annotations

import uuid


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_greeting_is_chinese(desk):
    reply = desk.texts(desk.say(sender(), "你好"))
    assert "筑数助手" in reply


def test_catalogue_counts_come_from_the_database(desk):
    reply = desk.texts(desk.say(sender(), "目录里有多少数据集"))
    assert "1139" in reply and "51" in reply and "116" in reply


def test_out_of_scope_says_what_the_assistant_does(desk):
    reply = desk.texts(desk.say(sender(), "帮我订一张去北京的机票"))
    assert "超出" in reply and "查找" in reply

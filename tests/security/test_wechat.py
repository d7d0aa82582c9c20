"""Hostile input at the WeChat webhook (real channel, real Sanic server, the fake WeChat platform in front)."""

from __future__ import annotations

import pytest

import settings
from bot.channels.intake import LONG_NOTICE, TOO_LONG_TEXT
from tests.wechat.fake_platform import new_openid

CAP = settings.get().nlu_max_chars


@pytest.mark.parametrize("timestamp", ["9" * 400, "12a", "-5", "１７００００００００", "1e9"])
def test_a_malformed_query_timestamp_is_a_clean_400(server, fake, timestamp):
    openid = new_openid()
    reply = fake.push(server.webhook, fake.text(openid, "你好"), **fake.signed_query(openid, timestamp=timestamp))
    assert reply.status == 400 and "timestamp" in reply.body
    assert server.turns(openid) == []


@pytest.mark.parametrize(("field", "value"), [("CreateTime", "9" * 400), ("CreateTime", "昨天"),
                                              ("MsgId", "abc"), ("MsgId", "9" * 400), ("MsgId", "-1")])
def test_malformed_numbers_in_the_message_are_a_clean_400(server, fake, field, value):
    openid = new_openid()
    message = {**fake.text(openid, "你好"), field: value}
    for mode in ("plain", "safe"):
        reply = fake.push(server.webhook, message, mode=mode)
        assert reply.status == 400 and field in reply.body
    assert server.turns(openid) == []


def test_the_server_keeps_serving_after_malformed_numbers(server, fake):
    fake.push(server.webhook, {**fake.text(new_openid(), "x"), "CreateTime": "9" * 400})
    openid = new_openid()
    assert fake.push(server.webhook, fake.text(openid, "还在吗")).content == "收到：还在吗"


def test_a_long_wechat_message_is_cut_for_nlu_and_the_user_told(server, fake):
    openid = new_openid()
    text = "情况是这样的。" * 2000 + "请问公交数据怎么申请？"  # 14,011 characters, 42 KB: under the body limit
    reply = fake.push(server.webhook, fake.text(openid, text))
    assert reply.content.startswith(LONG_NOTICE.format(cap=CAP))
    [turn] = server.turns(openid)
    assert len(turn["text"]) <= CAP and turn["text"].endswith("请问公交数据怎么申请？")
    assert turn["metadata"]["full_text"] == text


def test_a_wechat_message_over_the_byte_limit_is_refused_politely(spawn_channels, fake):
    small = spawn_channels("wechat-small-limit", MESSAGE_MAX_BYTES="3000")
    openid = new_openid()
    reply = fake.push(small.webhook, fake.text(openid, "长" * 1500))
    assert reply.content == TOO_LONG_TEXT.format(size=1500, cap=CAP)
    assert small.turns(openid) == []  # and the same server answers the next message normally
    assert fake.push(small.webhook, fake.text(openid, "短消息")).content == "收到：短消息"

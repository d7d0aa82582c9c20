"""FAQ turns end to end: real Rasa server (trained model) and real action server, REST channel."""

from __future__ import annotations

import uuid

import pytest

from knowledge import parse_citations


def ask(desk, text: str) -> str:
    return desk.texts(desk.say(f"faq-{uuid.uuid4().hex[:8]}", text))


@pytest.mark.parametrize(
    ("question", "expected", "citation"),
    [
        ("实施办法是什么时候开始施行的？", "2018年3月1日", ("《办法》题注", "确认")),
        ("条例和实施办法是什么关系", "配套", ("《条例》《办法》与省条例的关系", "确认")),
        ("考核里要求设立首席数据官吗", "首席数据官", ("《考核暂行办法》第七条、第八条", "确认")),
    ],
)
def test_faq_answer_names_its_source(desk, question, expected, citation):
    reply = ask(desk, question)
    assert expected in reply
    assert citation in parse_citations(reply)


def test_how_long_an_application_takes_is_answered_honestly(desk):
    reply = ask(desk, "申请开放数据一般多少个工作日答复")
    assert "无法确认" in reply
    assert "《贵州省政府数据共享开放条例》" in reply and "15个工作日" in reply
    assert "12345" in reply


def test_penalties_are_not_invented_for_guiyang(desk):
    reply = ask(desk, "违反条例要罚多少钱")
    assert "无法确认" in reply
    assert ("《条例》第六章", "未找到") in parse_citations(reply)

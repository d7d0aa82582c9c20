"""Routing backed by retrieval (actions/routing.py): when NLU is unsure, or the Measures answer has no confident
passage, the catalogue and the knowledge base decide.  End to end through the real Rasa and action servers."""

from __future__ import annotations

import uuid

import pytest

from actions import routing


def message(intent: str, confidence: float, *others: tuple[str, float]) -> dict:
    ranking = [{"name": intent, "confidence": confidence}, *({"name": n, "confidence": c} for n, c in others)]
    return {"text": "…", "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking}


@pytest.mark.parametrize(
    ("latest", "unsure"),
    [
        (message("ask_measures", 0.95, ("search_dataset", 0.03)), False),
        (message("ask_measures", 0.55, ("search_dataset", 0.40)), True),  # low confidence
        (message("ask_measures", 0.62, ("search_dataset", 0.35)), True),  # close runner-up
        (message("search_dataset", 0.85, ("greet", 0.14)), False),  # the runner-up is no routed intent
        (message("nlu_fallback", 0.40, ("out_of_scope", 0.38)), True),
    ],
)
def test_nlu_is_unsure_on_low_confidence_or_a_close_runner_up(latest, unsure):
    assert routing.nlu_unsure(latest) is unsure


def say(desk, text: str) -> str:
    return desk.texts(desk.say(f"route-{uuid.uuid4().hex[:8]}", text))


@pytest.mark.parametrize("text", ["贵阳有哪些养老院", "哪里能查到加油站的位置", "全市有几家三甲医院"])
def test_requests_for_data_are_searches_whatever_nlu_guessed(desk, text):
    reply = say(desk, text)
    assert "为您找到" in reply, reply
    assert "找不到可靠依据" not in reply and "没有可靠出处" not in reply


def test_nursing_homes_list_the_nursing_home_registry(desk):
    assert "养老机构名录" in say(desk, "贵阳有哪些养老院")


def test_a_question_on_the_measures_stays_a_measures_answer(desk):
    reply = say(desk, "共享和开放有什么区别")
    assert "为您找到" not in reply
    assert "共享" in reply and "开放" in reply and "出处" in reply, reply


def test_neither_index_confident_still_clarifies(desk):
    reply = say(desk, "asdfgh qwerty")
    assert "没太明白" in reply and "为您找到" not in reply

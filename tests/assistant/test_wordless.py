"""bot/wordless.py: a greeting, thanks or goodbye without words loses its confidence (the fallback reads what the
message is); words, button payloads and other intents keep what DIET said.  Real Rasa messages, no mocks."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.wordless import WordlessSmallTalk


@pytest.fixture()
def component(tmp_path) -> WordlessSmallTalk:
    context = ExecutionContext(GraphSchema({}), "test")
    return WordlessSmallTalk.create({}, LocalModelStorage(tmp_path), Resource("wordless"), context)


def confidence_after(component: WordlessSmallTalk, text: str, intent: str) -> set[float]:
    """The confidences of the intent and of its ranking once the component has seen the message."""
    message = Message({"text": text})
    message.set("intent", {"name": intent, "confidence": 0.89})
    message.set("intent_ranking", [{"name": intent, "confidence": 0.89}, {"name": "inform", "confidence": 0.05}])
    (message,) = component.process([message])
    return {message.get("intent")["confidence"], *(r["confidence"] for r in message.get("intent_ranking"))}


@pytest.mark.parametrize(("text", "intent"), [
    ("123", "goodbye"), ("88", "greet"), ("886~", "thank"), ("👍", "thank"), ("好的", "thank"),
    ("？", "greet"), ("13812345678", "greet"), ("sq20261127-7k3m9q", "thank"), ("提交", "goodbye"),
])
def test_small_talk_without_words_loses_its_confidence(component, text, intent):
    assert confidence_after(component, text, intent) == {0.0}


@pytest.mark.parametrize(("text", "intent"), [
    ("你好", "greet"), ("谢谢", "thank"), ("再见", "goodbye"), ("hi", "greet"), ("ok谢谢", "thank"),
    ("88", "goodbye"), ("886~", "goodbye"),  # 拜拜 in chat
    ("/greet", "greet"),  # a WeChat menu click
    ("123", "inform"), ("好的", "affirm"),  # not small talk: the rules of those intents decide
])
def test_words_payloads_and_other_intents_keep_it(component, text, intent):
    assert 0.89 in confidence_after(component, text, intent)

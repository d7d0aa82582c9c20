"""bot/unknown_words.py: a message of only unknown Latin words loses its intent confidence (so the fallback
answers); known Latin words, Chinese text and digits keep what DIET said.  Real Rasa model storage, no mocks."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.unknown_words import UnknownLatinWords, latin_words


@pytest.fixture()
def trained(tmp_path) -> UnknownLatinWords:
    storage, resource = LocalModelStorage(tmp_path), Resource("unknown_words")
    context = ExecutionContext(GraphSchema({}), "test")
    examples = [Message.build(text, intent) for text, intent in
                [("hello there", "greet"), ("OK 好的", "affirm"), ("我要申请API接口", "request_data")]]
    UnknownLatinWords.create({}, storage, resource, context).train(TrainingData(training_examples=examples))
    return UnknownLatinWords.load({}, storage, resource, context)


def _classified(text: str) -> Message:
    message = Message({"text": text})
    message.set("intent", {"name": "affirm", "confidence": 0.88})
    message.set("intent_ranking", [{"name": "affirm", "confidence": 0.88}, {"name": "greet", "confidence": 0.1}])
    return message


@pytest.mark.parametrize("text", ["asdf", "qwerty zxcv!!", "ASDFG"])
def test_unknown_latin_words_lose_their_confidence(trained, text):
    message = trained.process([_classified(text)])[0]
    assert message.get("intent") == {"name": "affirm", "confidence": 0.0}
    assert {r["confidence"] for r in message.get("intent_ranking")} == {0.0}


@pytest.mark.parametrize("text", ["hello", "ok", "api 文档", "asdf 你好", "88", "sq20261127 7k3m9q", "你好"])
def test_known_words_chinese_and_digits_keep_it(trained, text):
    assert trained.process([_classified(text)])[0].get("intent")["confidence"] == 0.88


def test_what_counts_as_only_latin_words():
    assert latin_words("Call me, back?") == ["call", "me", "back"]
    assert latin_words("PM2.5") is None and latin_words("数据") is None and latin_words("!!") is None

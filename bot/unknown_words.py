"""No confidence for a message made only of Latin words the training data never used ("asdf", "qwerty zxcv").

DIET is confident about text it has no evidence for: single Latin letters are features of the English examples,
so keyboard noise could come out as `affirm` at 0.88, and an `affirm` submits a form at its confirmation step.
This component learns the Latin words of the training examples and, for a message whose every word is Latin and
unknown, sets the intent's confidence to 0, so the FallbackClassifier after it predicts `nlu_fallback` and the
assistant says it did not understand.  Chinese text, digits, ticket numbers and any known Latin word pass untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LATIN_WORD = re.compile(r"[a-z]+")
FILE = "latin_words.json"


def latin_words(text: str) -> list[str] | None:
    """The Latin words of ``text``, or None when it has anything else to go by (Chinese, digits) or no word."""
    text = text.lower()
    if re.search(r"[^\W_a-z]", text):  # a word character other than a–z: Chinese, a digit, an accented letter
        return None
    return LATIN_WORD.findall(text) or None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownLatinWords(GraphComponent):
    def __init__(self, model_storage: ModelStorage, resource: Resource, known: set[str]) -> None:
        self._storage, self._resource, self.known = model_storage, resource, known

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnknownLatinWords:
        return cls(model_storage, resource, set())

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> UnknownLatinWords:
        with model_storage.read_from(resource) as directory:
            return cls(model_storage, resource, set(json.loads((directory / FILE).read_text(encoding="utf-8"))))

    def train(self, training_data: TrainingData) -> Resource:
        self.known = {word for m in training_data.intent_examples
                      for word in LATIN_WORD.findall((m.get(TEXT) or "").lower())}
        with self._storage.write_to(self._resource) as directory:
            (directory / FILE).write_text(json.dumps(sorted(self.known)), encoding="utf-8")
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            words = latin_words(message.get(TEXT) or "")
            intent = message.get(INTENT)
            if words and intent and not self.known.intersection(words):
                drop_confidence(message)
        return messages


def drop_confidence(message: Message) -> None:
    """No confidence in the message's intent or any ranked one: the FallbackClassifier predicts nlu_fallback."""
    message.get(INTENT)[PREDICTED_CONFIDENCE_KEY] = 0.0
    for ranked in message.get(INTENT_RANKING_KEY) or []:
        ranked[PREDICTED_CONFIDENCE_KEY] = 0.0

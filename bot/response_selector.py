"""Rasa's ResponseSelector, run only where its answer can be used.

The stock selector runs on every message and stores its ranking in every user event (≈1.8 KB of a 3 KB event
here), although only a message whose intent is the retrieval intent (`ask_measures`) is ever answered from it.
This subclass selects only for those messages; training and the selection itself are Rasa's.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class GatedResponseSelector(ResponseSelector):
    def process(self, messages: list[Message]) -> list[Message]:
        super().process([m for m in messages if (m.get(INTENT) or {}).get(INTENT_NAME_KEY) == self.retrieval_intent])
        return messages

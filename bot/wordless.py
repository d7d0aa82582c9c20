"""No greeting, thanks or goodbye for a message without words.

NLU reads messages without words as whatever its untrained corner says: "123" came out as a goodbye, "👍" as
thanks.  Greetings, thanks and goodbyes are answered by their domain responses in the Rasa server itself (rules in
data/rules/core.yml), so this component, after DIET and before the FallbackClassifier, gives such a message no
confidence when its text is not words (`message_kind.read`: a number, a phone, "好的", "？"...; "88" is a goodbye).  The
FallbackClassifier then predicts `nlu_fallback`, and `action_fallback` answers the kind of message it is.
A button payload ("/greet", a WeChat menu click) keeps its intent.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

import message_kind
from bot.unknown_words import drop_confidence

# The kinds of text each small-talk intent fits: words, a button payload, and for a goodbye "88" / "886" (拜拜).
FITS = {intent: {message_kind.WORDS, message_kind.BUTTON} for intent in ("greet", "thank", "goodbye")}
FITS["goodbye"].add(message_kind.FAREWELL)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class WordlessSmallTalk(GraphComponent):
    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> WordlessSmallTalk:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if name in FITS and message_kind.read(message.get(TEXT) or "") not in FITS[name]:
                drop_confidence(message)
        return messages

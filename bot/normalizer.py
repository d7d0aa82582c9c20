"""The first NLU component: the text the tokenizer sees, normalised the way the search normalises it.

- `textnorm.normalize` without case folding (ticket numbers and format words keep their case for the extractors):
  traditional → simplified, full-width → half-width (NFKC), whitespace runs collapsed;
- runs of the same punctuation or symbol collapsed ("？？？" → "?", "。。。。" → "。"; "……" stays an ellipsis);
- a length cap (`settings.nlu_max_chars`): only the informative part (the last sentences) reaches NLU. The
  channels cut first and keep the whole text in the message metadata (bot/channels/intake.py); this is the same
  cut for whatever reaches the model by another path (HTTP API, `rasa shell`).

The UserUttered event keeps the text as the user typed it (Rasa records the channel's text, not parse data), so
the record is untouched. Training examples are normalised too, except that an example with annotated entities
is normalised only when its length does not change, so entity offsets stay valid.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import settings
import textnorm

_REPEATED = re.compile(r"([!?,.;:~。，、；：！？～\-_=*#])\1+")


def normalize_for_nlu(text: str, max_chars: int | None = None) -> str:
    text = _REPEATED.sub(r"\1", textnorm.normalize(text, fold_case=False))
    cap = max_chars if max_chars is not None else settings.get().nlu_max_chars
    return textnorm.informative_part(text, cap) if len(text) > cap else text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormalizer(GraphComponent):
    """Normalises the message text in place (put it first in the pipeline, before the tokenizer)."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TextNormalizer:
        return cls(settings.get().nlu_max_chars)

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars  # read once when the model loads, not per message

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            normal = normalize_for_nlu(text, max_chars=len(text))  # training examples are never cut
            if not example.get(ENTITIES) or len(normal) == len(text):
                example.set(TEXT, normal)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(TEXT, normalize_for_nlu(text, self.max_chars))
        return messages

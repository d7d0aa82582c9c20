"""Search speed: index build time, database size and query latency at 10k / 100k (/ 1M) datasets.

    python -m benchmarks.search_bench [--scales 10000,100000] [--with-1m] [--queries N] [--http-requests N]
                                      [--workdir DIR [--reuse]] [--cold]

For each scale: a synthetic catalogue (benchmarks.search_synth) is loaded into a fresh SQLite database with
`catalog_index.ingest.load_files` (validation, segmentation, FTS5 indexing: the build time), then the
development query set (benchmarks/search_queries.yml, plus filtered variants) is run in-process through
`catalog_index.search.search` and over HTTP against the real web app (web.app.create_app with the catalogue API)
in its own process on loopback, with 16 concurrent aiohttp clients.  "snapshot s" is the time to build the
search's in-memory snapshot (catalog_index.columns.warm), paid once per catalogue version when a service starts
or after a load.  Prints one table; nothing is asserted.

Vectors: encoding 100k datasets takes ≈ 47 min of a free core (benchmarks/embed_bench.py), so the catalogue is
loaded with EMBED_ON_INGEST off and every dataset gets a random unit vector of the configured embedder's
dimension and name (`synthetic_vectors`): the brute-force scoring, fusion and memory are what they are with real
vectors; quality is measured by benchmarks/search_eval.py instead.  Queries are embedded by the real model
(cached per query text, as in the services: the warm-up round pays the encoding).  "vectors MB" is the
snapshot's vector memory (int8 codes, scales, rowids and ids); "RSS MB" the process's peak resident memory after
the in-process round.

The query mix repeats, so after the first round the per-catalogue-version memos of `catalog_index.columns`
(query analysis, full-text match lists) answer most of the work, as they do for paging and refining in real
use; `--cold` switches them off (in-process and in the server) to measure the uncached path.  `--reuse` keeps
an existing database in --workdir instead of rebuilding it (no build time is reported then).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
import yaml
from sqlalchemy import text

import settings
from benchmarks.search_synth import DEPARTMENTS, synthesize
from catalog_index import columns
from catalog_index.ingest import load_files
from catalog_index.models import DatasetVector
from catalog_index.search import search
from catalog_index.store import bulk_insert
from catalog_index.vectors import CHUNK, quantize
from database import engine, migrate, session_scope
from embedding import get_embedder

QUERIES = Path(__file__).resolve().parent / "search_queries.yml"
CONCURRENCY = 16
SERVER = """
import sys
from aiohttp import web
from catalog_index import columns
columns.enabled = sys.argv[3] != "cold"
from web.app import create_app
from web.api_datasets import setup_routes
app = create_app(sys.argv[1])
if not any(getattr(r.resource, "canonical", "") == "/api/datasets" for r in app.router.routes()):
    setup_routes(app)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


def query_mix() -> list[dict]:
    """The development queries, plus each fifth one with a filter parameter and a few empty-query listings."""
    texts = [q["q"] for q in yaml.safe_load(QUERIES.read_text(encoding="utf-8"))]
    mix = [{"q": q} for q in texts]
    filters = [{"district": "花溪区"}, {"has_api": "true"}, {"format": "CSV"}, {"open_type": "无条件开放"},
               {"category": "交通出行"}]
    mix += [{"q": q, **filters[i % len(filters)]} for i, q in enumerate(texts[::5])]
    mix += [{"q": "", "department": "市交委"}, {"q": "", "district": "白云区", "has_api": "false"}]
    return mix


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def db_size(path: Path) -> int:
    with engine(f"sqlite:///{path}").connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def in_process(url: str, mix: list[dict], total: int) -> list[float]:
    times = []
    with session_scope(url) as session:
        for params in mix:  # warm-up: analyzer caches, SQLite page cache
            search(session, **params)
        for i in range(total):
            params = mix[i % len(mix)]
            start = time.perf_counter()
            search(session, **params)
            times.append((time.perf_counter() - start) * 1000)
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _http(port: int, mix: list[dict], total: int) -> tuple[list[float], float]:
    base = f"http://127.0.0.1:{port}/api/datasets"
    times: list[float] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as client:
        for params in mix:  # warm-up
            async with client.get(base, params=params) as resp:
                await resp.read()

        async def worker() -> None:
            for i in counter:
                start = time.perf_counter()
                async with client.get(base, params=mix[i % len(mix)]) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status} for {mix[i % len(mix)]}")
                times.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return times, total / elapsed


def over_http(url: str, mix: list[dict], total: int, cold: bool = False) -> tuple[list[float], float]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port), "cold" if cold else "warm"], env=env, cwd=settings.ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"web app did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        return asyncio.run(_http(port, mix, total))
    finally:
        server.terminate()
        server.wait(timeout=30)


def synthetic_vectors(url: str, seed: int = 11) -> None:
    """A random unit vector of the configured embedder for every dataset (see the module docstring)."""
    embedder = get_embedder()
    rng = np.random.default_rng(seed)
    with session_scope(url) as session:
        ids = session.execute(text("SELECT id FROM datasets ORDER BY id")).scalars().all()
        session.execute(text("DELETE FROM dataset_vectors"))
        for start in range(0, len(ids), CHUNK):
            batch = ids[start:start + CHUNK]
            vectors = rng.standard_normal((len(batch), embedder.dim)).astype(np.float32)
            codes, scales = quantize(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
            bulk_insert(session, DatasetVector.__table__, [
                {"dataset_id": i, "model": embedder.name, "text_hash": "synthetic", "scale": float(scale),
                 "vector": code.tobytes()} for i, code, scale in zip(batch, codes, scales, strict=True)])


def vector_memory(snap: columns.Snapshot) -> int:
    """Bytes of the snapshot's vectors: codes, scales, rowids and the id strings."""
    vectors = snap.vectors
    if vectors is None:
        return 0
    return (vectors.codes.nbytes + vectors.scales.nbytes + vectors.rowids.nbytes + sys.getsizeof(vectors.ids)
            + sum(sys.getsizeof(i) for i in vectors.ids))


def run_scale(n: int, workdir: Path, mix: list[dict], queries: int, requests: int, reuse: bool = False,
              cold: bool = False) -> dict:
    db_path = workdir / f"bench_{n}.db"
    url = f"sqlite:///{db_path}"
    build = None
    if not (reuse and db_path.exists()):
        for old in workdir.glob(db_path.name + "*"):
            old.unlink()
        catalogue = synthesize(n, workdir / f"synthetic_{n}.jsonl")
        migrate(url)
        started = time.perf_counter()
        report = load_files([DEPARTMENTS, catalogue], url, progress=True, embed=False)
        build = time.perf_counter() - started
        synthetic_vectors(url)
        catalogue.unlink()
        if report.errors:
            raise SystemExit("\n".join(report.errors[:20]))
    migrate(url)
    with session_scope(url) as session:
        count = session.execute(text("SELECT count(*) FROM datasets")).scalar()
    columns.enabled = not cold
    started = time.perf_counter()
    columns.warm(url)
    snapshot_s = time.perf_counter() - started
    with session_scope(url) as session:
        vectors_bytes = vector_memory(columns.snapshot(session))
    local = in_process(url, mix, queries)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    http, throughput = over_http(url, mix, requests, cold)
    return {"n": count, "build": build, "snapshot": snapshot_s, "size": db_size(db_path), "p50": percentile(local, 50),
            "p99": percentile(local, 99), "mean": statistics.mean(local), "http_p50": percentile(http, 50),
            "http_p99": percentile(http, 99), "rps": throughput, "vectors": vectors_bytes, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="10000,100000", help="comma-separated dataset counts")
    parser.add_argument("--with-1m", action="store_true", help="also run 1,000,000 datasets (long)")
    parser.add_argument("--queries", type=int, default=1000, help="in-process searches per scale")
    parser.add_argument("--http-requests", type=int, default=2000, help="HTTP requests per scale")
    parser.add_argument("--workdir", type=Path, help="keep databases here (default: a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="use a database already in --workdir (no build)")
    parser.add_argument("--cold", action="store_true", help="switch off the per-version search memos")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",") if s] + ([1_000_000] if args.with_1m else [])
    mix = query_mix()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in scales:
            print(f"-- {n} datasets", file=sys.stderr, flush=True)
            rows.append(run_scale(n, workdir, mix, args.queries, args.http_requests, args.reuse, args.cold))
    print(f"\nsearch benchmark: {len(mix)} distinct queries; in-process {args.queries} searches; HTTP "
          f"{args.http_requests} requests with {CONCURRENCY} concurrent clients; {os.cpu_count()} CPU(s); "
          f"memos {'off (--cold)' if args.cold else 'on'}; load average {os.getloadavg()[0]:.2f}")
    header = (f"{'datasets':>9} {'build s':>8} {'DB MB':>7} {'snapshot s':>10} {'inproc p50 ms':>14} {'inproc p99 ms':>14} "
              f"{'http p50 ms':>12} {'http p99 ms':>12} {'http req/s':>11} {'vectors MB':>11} {'RSS MB':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        build = "-" if r["build"] is None else f"{r['build']:.1f}"
        print(f"{r['n']:>9} {build:>8} {r['size'] / 1e6:>7.1f} {r['snapshot']:>10.1f} {r['p50']:>14.2f} {r['p99']:>14.2f} "
              f"{r['http_p50']:>12.2f} {r['http_p99']:>12.2f} {r['rps']:>11.0f} {r['vectors'] / 1e6:>11.1f} "
              f"{r['rss'] / 1e6:>7.0f}")


if __name__ == "__main__":
    main()

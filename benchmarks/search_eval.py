"""Search quality: nDCG@10, MRR and recall@10 of the catalogue search, per kind, against baselines.

    python -m benchmarks.search_eval [--queries FILE ...] [--db URL] [--show-worst N]

Query sets (each printed as its own table, in one run): the development sets benchmarks/search_queries.yml (the
first one, written in the training style), benchmarks/search_queries_dev2.yml and benchmarks/search_queries_dev3.yml
(written blind from the catalogue and the grading rules: dev3 is colloquial questions and 60 needs the catalogue
does not hold; all three tuned on), benchmarks/search_queries_dev4.yml (written blind the same way, 60 of its 160
needs not held; a held-out check for rules chosen on the first three, only its totals looked at),
benchmarks/search_queries_dev5.yml and search_queries_dev5_heldout.yml (one set written blind the same way, 70 of
its 160 needs not held and most of them near real datasets, split in two halves: the first tuned on, the second a
held-out check like dev4), benchmarks/search_queries_dev6.yml and search_queries_dev6_heldout.yml (the same again:
240 queries, 110 needs not held, split the same way; the second half was read once it had served as a check),
benchmarks/search_queries_dev7.yml (written blind the same way, 90 of its 200 needs not held: the held-out check
for the rules chosen on the others, read after that), benchmarks/search_queries_dev8.yml (the same, 80 of 200: the
next held-out check, read after it had served), benchmarks/search_queries_dev9.yml (the same, 100 of 220, tuned on),
benchmarks/search_queries_dev10.yml (the same, 90 of 200: the held-out check for the rules chosen on dev8 and dev9,
only its totals looked at), benchmarks/search_queries_dev11.yml and search_queries_dev12.yml (written blind with a
plain brief, 50 of 200 not held, each a held-out check then read), benchmarks/search_queries_dev13.yml and
search_queries_dev14.yml (the same, each the held-out check for every change before it, then read),
benchmarks/search_queries_dev15.yml (the same, tuned on), search_queries_dev16.yml and search_queries_dev17.yml (the
same, the held-out checks for the rules chosen on dev15, read afterwards), search_queries_dev18.yml (the same, the
held-out check for every change of 2026-11-30 08:00-09:00) and the blind set
tests/data/blind/search_queries_blind.yml (never tuned on, never read by the people tuning: only its numbers are
looked at).

Systems, all run in this process on the same catalogue (by default the sample, loaded into a temporary
SQLite database with its vectors):
  hybrid     catalog_index.search: lexical match fused with the nearest dataset vectors (what the assistant uses)
  lexical    catalog_index.search(retrieval="lexical"): domain dictionary, synonyms, field weights, text filters
  dense      catalog_index.search(retrieval="dense"): the nearest vectors that pass the filters, alone
  bm25       plain BM25 (rank-bm25 BM25Okapi) over jieba tokens of all text fields, with jieba's default
             dictionary: no domain dictionary, synonyms, normalisation or field weights

Gains are 2^grade - 1.  Queries for data that does not exist score 1 on every metric when the system returns
nothing or flags its results low-confidence, else 0 (hybrid, lexical and dense share catalog_index.search's
`low_confidence`; bm25 never abstains).  The other side of that flag is the last column: of the queries whose
data exists, how many hybrid presents as confident hits (the assistant says it found nothing for the others).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections import defaultdict
from pathlib import Path

import jieba
import yaml
from rank_bm25 import BM25Okapi
from sqlalchemy import select

import settings
from catalog_index.ingest import load_files
from catalog_index.models import Dataset, Department
from catalog_index.search import search
from database import migrate, session_scope

QUERIES = [*(Path(__file__).resolve().parent / f"search_queries{suffix}.yml"
             for suffix in ("", "_dev2", "_dev3", "_dev4", "_dev5", "_dev5_heldout", "_dev6", "_dev6_heldout",
                          "_dev7", "_dev8", "_dev9", "_dev10", "_dev11", "_dev12", "_dev13", "_dev14", "_dev15", "_dev16",
                          "_dev17", "_dev18")),
           settings.ROOT / "tests" / "data" / "blind" / "search_queries_blind.yml"]
SAMPLE = [settings.ROOT / "data" / "catalog" / "departments.jsonl",
          settings.ROOT / "data" / "catalog" / "guiyang_catalog.jsonl"]
K = 10
SYSTEMS = ("hybrid", "lexical", "dense", "bm25")


def load_judgements(path: Path, titles: dict[str, str]) -> list[dict]:
    """Queries with `grades` {dataset id: grade}, resolving the title patterns of the query file."""
    queries = yaml.safe_load(path.read_text(encoding="utf-8"))
    for query in queries:
        grades: dict[str, int] = {}
        for pattern, grade in (query.get("rel") or {}).items():
            exact = pattern.startswith("=")
            matched = [i for i, t in titles.items() if (t == pattern[1:] if exact else pattern in t)]
            if not matched:
                raise SystemExit(f"{path}: query {query['q']!r}: pattern {pattern!r} matches no title")
            for dataset_id in matched:
                grades[dataset_id] = max(grades.get(dataset_id, 0), int(grade))
        query["grades"] = {k: v for k, v in grades.items() if v > 0}
    return queries


def metrics(ranked: list[str], grades: dict[str, int], abstained: bool) -> tuple[float, float, float]:
    if not grades:  # nothing relevant exists
        score = 1.0 if abstained or not ranked else 0.0
        return score, score, score
    top = ranked[:K]
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(grades.values(), reverse=True)[:K]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    rr = next((1.0 / (i + 1) for i, d in enumerate(top) if grades.get(d, 0) > 0), 0.0)
    recall = sum(1 for d in top if grades.get(d, 0) > 0) / min(K, len(grades))
    return dcg / idcg, rr, recall


class BM25Baseline:
    def __init__(self, session) -> None:  # noqa: ANN001
        self.tokenizer = jieba.Tokenizer()  # jieba's default dictionary only
        names = {d.code: d.name for d in session.scalars(select(Department))}
        self.ids, corpus = [], []
        for d in session.scalars(select(Dataset).order_by(Dataset.id)):
            doc = " ".join([d.title, d.description, " ".join(d.keywords), " ".join(d.fields),
                            names[d.department_code]])
            self.ids.append(d.id)
            corpus.append(self._tokens(doc))
        self.bm25 = BM25Okapi(corpus)

    def _tokens(self, value: str) -> list[str]:
        return [t for t in self.tokenizer.lcut(value.lower()) if t.strip()]

    def __call__(self, q: str) -> tuple[list[str], bool]:
        scores = self.bm25.get_scores(self._tokens(q))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:K]
        return [self.ids[i] for i in order if scores[i] > 0], False


def ours(session, retrieval: str):  # noqa: ANN001, ANN201
    def run(q: str) -> tuple[list[str], bool]:
        result = search(session, q, rows=K, retrieval=retrieval)
        return [r["id"] for r in result.results], result.low_confidence

    return run


def evaluate(url: str, queries_path: Path, show_worst: int) -> dict:
    with session_scope(url) as session:
        titles = dict(session.execute(select(Dataset.id, Dataset.title)).all())
        queries = load_judgements(queries_path, titles)
        systems = {name: ours(session, name) for name in ("hybrid", "lexical", "dense")}
        systems["bm25"] = BM25Baseline(session)
        print(f"\n{queries_path.relative_to(settings.ROOT)}: {len(queries)} queries")
        per_query: dict[str, list[tuple[dict, tuple[float, float, float]]]] = defaultdict(list)
        hidden: set[str] = set()  # queries with relevant data that hybrid flags low-confidence
        for query in queries:
            for name, system in systems.items():
                ranked, abstained = system(query["q"])
                per_query[name].append((query, metrics(ranked, query["grades"], abstained)))
                if name == "hybrid" and abstained and query["grades"]:
                    hidden.add(query["q"])
    report = {}
    kinds = ["all", *dict.fromkeys(q["kind"] for q in queries)]
    for kind in kinds:
        row = {}
        for name in SYSTEMS:
            scores = [m for q, m in per_query[name] if kind == "all" or q["kind"] == kind]
            row[name] = tuple(sum(s[i] for s in scores) / len(scores) for i in range(3))
        found = [q["q"] for q in queries if (kind == "all" or q["kind"] == kind) and q["grades"]]
        row["confident"] = f"{sum(q not in hidden for q in found)}/{len(found)}" if found else "-"
        report[kind] = (sum(1 for q in queries if kind == "all" or q["kind"] == kind), row)
    print_table(report)
    if show_worst:
        print(f"\nworst {show_worst} queries for `hybrid` (nDCG@10):")
        for query, m in sorted(per_query["hybrid"], key=lambda qm: qm[1][0])[:show_worst]:
            print(f"  {m[0]:.3f}  [{query['kind']}] {query['q']}")
    return report


def print_table(report: dict) -> None:
    header = (f"{'kind':<13}{'n':>4}  " + "  ".join(f"{name + ' nDCG/MRR/R@10':<25}" for name in SYSTEMS)
              + "  hybrid confident")
    print(header)
    print("-" * len(header))
    for kind, (n, row) in report.items():
        cells = "  ".join(f"{row[s][0]:.3f} / {row[s][1]:.3f} / {row[s][2]:.3f}   " for s in SYSTEMS)
        print(f"{kind:<13}{n:>4}  {cells}  {row['confident']:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=Path, nargs="+", default=QUERIES,
                        help="query files (default: the development sets, then the blind set)")
    parser.add_argument("--db", help="evaluate on this database instead of a fresh copy of the sample")
    parser.add_argument("--show-worst", type=int, default=0, metavar="N")
    args = parser.parse_args()
    queries = [path.resolve() for path in args.queries]
    if args.db:
        for path in queries:
            evaluate(args.db, path, args.show_worst)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        migrate(url)
        report = load_files(SAMPLE, url, progress=False)
        if report.errors:
            raise SystemExit("\n".join(report.errors))
        for path in queries:
            evaluate(url, path, args.show_worst)


if __name__ == "__main__":
    main()

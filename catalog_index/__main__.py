"""`python -m catalog_index migrate|load|export|search|stats|dict|reindex|embed` (run with --help for options)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

import database as db
from catalog_index.filters import FILTERS


def _cmd_migrate(args: argparse.Namespace) -> int:
    db.migrate(args.db)
    print("database is at the latest revision")
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from catalog_index.ingest import RecordError, load_files
    from embedding import EmbedderError

    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    db.migrate(args.db)
    try:
        report = load_files(paths, args.db, progress=not args.quiet)
    except (RecordError, EmbedderError) as exc:
        print(exc, file=sys.stderr)
        return 2
    for error in report.errors:
        print(error, file=sys.stderr)
    print(report.summary())
    return 1 if report.errors and args.strict else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from catalog_index.export import write_jsonl, write_jsonld

    writer = write_jsonld if args.format == "jsonld" else write_jsonl
    with db.session_scope(args.db) as session:
        if args.output == "-":
            count = writer(session, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8") as out:
                count = writer(session, out)
    print(f"exported {count} dataset(s)", file=sys.stderr)
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from catalog_index.search import InvalidParameter, search

    filters = {spec.name: getattr(args, spec.name) for spec in FILTERS}
    with db.session_scope(args.db) as session:
        try:
            result = search(session, args.query, sort=args.sort, page=args.page, rows=args.rows, **filters)
        except InvalidParameter as exc:
            print(f"invalid parameter {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return 0
    note = "  (low confidence: no close match)" if result.low_confidence else ""
    applied = f"  filters from the query: {result.applied_filters}" if result.applied_filters else ""
    print(f"{result.count} dataset(s), page {result.page}{note}{applied}")
    for rank, row in enumerate(result.results, (result.page - 1) * result.rows + 1):
        print(f"{rank:3d}. {row['id']:<14} {row['title']}  [{row['department']} · {row['district']} · "
              f"{row['open_type']} · {'/'.join(row['formats'])}]  {row['score']}")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from catalog_index.stats import breakdown, catalog_counts

    with db.session_scope(args.db) as session:
        counts = catalog_counts(session)
        parts = breakdown(session)
    if args.json:
        print(json.dumps({**counts, **{k: dict(v) for k, v in parts.items()}}, ensure_ascii=False, indent=1))
        return 0
    print(f"datasets {counts['datasets']}, departments {counts['departments']}, with API {counts['with_api']}")
    for name, values in parts.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in values))
    return 0


def _cmd_dict(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from catalog_index.analysis import (
        DOMAIN_DICT,
        GENERIC_WORDS,
        build_domain_dictionary,
        read_word_list,
        write_domain_dictionary,
    )
    from catalog_index.export import records
    from catalog_index.models import CATEGORIES, DISTRICTS, Department

    with db.session_scope(args.db) as session:
        departments = [d.to_dict() for d in session.scalars(select(Department))]
        words = build_domain_dictionary(departments, records(session), DISTRICTS, CATEGORIES,
                                        read_word_list(GENERIC_WORDS))
    write_domain_dictionary(words)
    print(f"wrote {len(words)} words to {DOMAIN_DICT}; run `python -m catalog_index reindex` next")
    return 0


def _cmd_reindex(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from catalog_index.models import Dataset
    from catalog_index.store import reindex

    with db.session_scope(args.db) as session:
        total = session.scalar(select(func.count()).select_from(Dataset))
        with tqdm(total=total, desc="reindex", unit="dataset", disable=args.quiet) as bar:
            count = reindex(session, progress=bar)
    print(f"reindexed {count} dataset(s)")
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from catalog_index.vectors import embed_catalog
    from embedding import EmbedderError

    db.migrate(args.db)
    try:
        counts = embed_catalog(args.db, everything=args.all, progress=not args.quiet)
    except EmbedderError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"encoded {counts['encoded']} dataset(s), {counts['unchanged']} already up to date")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m catalog_index", description="Guiyang data catalogue tools")
    p.add_argument("--db", help="database URL (default: DB_URL from settings)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(func=_cmd_migrate)
    load = sub.add_parser("load", help="load departments/datasets from JSONL or CSV (UTF-8 or GB18030)")
    load.add_argument("files", nargs="+")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--strict", action="store_true", help="exit status 1 when a record was rejected")
    load.set_defaults(func=_cmd_load)
    export = sub.add_parser("export", help="write the catalogue as JSONL or DCAT JSON-LD")
    export.add_argument("--format", choices=("jsonl", "jsonld"), default="jsonl")
    export.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    export.set_defaults(func=_cmd_export)
    search = sub.add_parser("search", help="search the catalogue")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--json", action="store_true", help="print the API's JSON")
    for spec in FILTERS:
        search.add_argument(f"--{spec.name.replace('_', '-')}", dest=spec.name,
                            help="/".join(map(str, spec.choices)) or None)
    search.add_argument("--sort", default="relevance", choices=("relevance", "updated"))
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--rows", type=int, default=10)
    search.set_defaults(func=_cmd_search)
    stats = sub.add_parser("stats", help="catalogue counts")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_cmd_stats)
    sub.add_parser("dict", help="regenerate data/search/domain_dict.txt from the catalogue").set_defaults(
        func=_cmd_dict)
    reindex = sub.add_parser("reindex", help="rebuild every dataset's search-index entry")
    reindex.add_argument("--quiet", action="store_true")
    reindex.set_defaults(func=_cmd_reindex)
    embed = sub.add_parser("embed", help="encode the vectors of new or changed datasets (EMBEDDER from settings)")
    embed.add_argument("--all", action="store_true", help="re-encode every dataset")
    embed.add_argument("--quiet", action="store_true")
    embed.set_defaults(func=_cmd_embed)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

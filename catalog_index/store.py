"""Writing the catalogue: a dataset row, its format rows and its search-index entry in one transaction.

Every write of a dataset goes through `save_datasets()`, which upserts the three tables with the caller's
session (so in the caller's transaction); on SQLite the FTS5 triggers update `dataset_fts` in that same
transaction.  A record identical to the stored one is left untouched, which makes reloading idempotent.
`reindex()` rebuilds every search doc (after the domain dictionary or the analyzer changed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from catalog_index.analysis import Analyzer, get_analyzer
from catalog_index.models import Dataset, DatasetFormat, Department, SearchDoc
from textnorm import normalize

DATASET_COLUMNS = (
    "title", "description", "department_code", "category", "keywords", "fields", "formats", "share_type",
    "share_condition", "open_type", "open_condition", "update_frequency", "record_count", "district", "has_api",
    "published", "updated",
)


def search_doc(record: dict, department: dict, analyzer: Analyzer) -> dict:
    """The search-index entry of a validated dataset record (pre-segmented text per field)."""
    return {
        "dataset_id": record["id"],
        "title_norm": normalize(record["title"]),
        "title": analyzer.index_text(record["title"]),
        "keywords": analyzer.index_text(record["keywords"]),
        "department": analyzer.index_text([department["name"], *department["short_names"]]),
        "description": analyzer.index_text(record["description"]),
        "fields": analyzer.index_text(record["fields"]),
        "fuzzy": analyzer.fuzzy_text([record["title"], *record["keywords"]]),
    }


def _row_of(dataset: Dataset) -> dict:
    return {c: getattr(dataset, c) for c in DATASET_COLUMNS}


def save_departments(session: Session, records: Iterable[dict]) -> dict[str, int]:
    """Upsert departments; returns counts of inserted/updated/unchanged."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    changed_codes = []
    for rec in records:
        current = session.get(Department, rec["code"])
        if current is None:
            session.add(Department(code=rec["code"], name=rec["name"], short_names=list(rec["short_names"])))
            counts["inserted"] += 1
        elif current.name == rec["name"] and list(current.short_names or []) == list(rec["short_names"]):
            counts["unchanged"] += 1
        else:
            current.name, current.short_names = rec["name"], list(rec["short_names"])
            counts["updated"] += 1
            changed_codes.append(rec["code"])
    session.flush()
    if changed_codes:  # department text is part of each of its datasets' index entries
        ids = session.scalars(select(Dataset.id).where(Dataset.department_code.in_(changed_codes))).all()
        reindex(session, ids)
    return counts


def department_texts(session: Session, codes: Iterable[str] | None = None) -> dict[str, dict]:
    """code → {"name", "short_names"}: the department part of its datasets' search docs (all departments when
    `codes` is None)."""
    query = select(Department) if codes is None else select(Department).where(Department.code.in_(set(codes)))
    return {d.code: {"name": d.name, "short_names": list(d.short_names or [])} for d in session.scalars(query)}


def search_docs(records: list[dict], departments: dict[str, dict]) -> dict[str, dict]:
    """id → search doc for validated records (pure computation: `ingest` runs it in a worker process)."""
    analyzer = get_analyzer()
    return {r["id"]: search_doc(r, departments[r["department_code"]], analyzer) for r in records}


def save_datasets(session: Session, records: list[dict], analyzer: Analyzer | None = None,
                  docs: dict[str, dict] | None = None) -> dict[str, int]:
    """Upsert validated dataset records with their formats and search docs, in the session's transaction.
    `docs` may carry search docs computed beforehand (see `search_docs`); records without one get it here."""
    analyzer = analyzer or get_analyzer()
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    if not records:
        return counts
    ids = [r["id"] for r in records]
    existing = {d.id: _row_of(d) for d in session.scalars(select(Dataset).where(Dataset.id.in_(ids)))}
    docs = docs or {}
    missing = {r["department_code"] for r in records if r["id"] not in docs}
    departments = department_texts(session, missing) if missing else {}
    new_rows, new_formats, new_docs = [], [], []
    for rec in records:
        row = {c: rec[c] for c in DATASET_COLUMNS}
        old = existing.get(rec["id"])
        if old == row:
            counts["unchanged"] += 1
            continue
        doc = docs.get(rec["id"]) or search_doc(rec, departments[rec["department_code"]], analyzer)
        formats = [{"dataset_id": rec["id"], "format": f} for f in rec["formats"]]
        if old is None:
            new_rows.append({"id": rec["id"], **row})
            new_formats += formats
            new_docs.append(doc)
            existing[rec["id"]] = row  # a duplicate id later in the same batch becomes an update
            counts["inserted"] += 1
            continue
        session.execute(update(Dataset).where(Dataset.id == rec["id"]).values(**row))
        session.execute(delete(DatasetFormat).where(DatasetFormat.dataset_id == rec["id"]))
        if formats:
            session.execute(insert(DatasetFormat), formats)
        session.execute(update(SearchDoc).where(SearchDoc.dataset_id == rec["id"]).values(**doc))
        existing[rec["id"]] = row
        counts["updated"] += 1
    for model, rows in ((Dataset, new_rows), (DatasetFormat, new_formats), (SearchDoc, new_docs)):
        bulk_insert(session, model.__table__, rows)
    return counts


def bulk_insert(session: Session, table: Table, rows: list[dict]) -> None:
    """INSERT many rows (dicts with the same keys) in the session's transaction: the statement is compiled once
    for the dialect and each value goes through its column type's bind processor, then one DBAPI executemany
    (SQLAlchemy's own executemany costs ≈40 µs a row in parameter handling, most of a bulk load's overhead)."""
    if not rows:
        return
    conn = session.connection()
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    order = compiled.positiontup if conn.dialect.positional else keys
    processors = [table.c[key].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for key in order]
    pairs = list(zip(order, processors, strict=True))
    if conn.dialect.positional:
        params = [tuple(p(row[k]) if p else row[k] for k, p in pairs) for row in rows]
    else:
        params = [{k: p(row[k]) if p else row[k] for k, p in pairs} for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def dataset_record(dataset: Dataset) -> dict:
    """A stored dataset as a catalogue record (the load format; dates as ISO strings)."""
    rec = {"id": dataset.id, **_row_of(dataset)}
    rec["department"] = dataset.department.name
    for key in ("published", "updated"):
        value = rec[key]
        rec[key] = value.isoformat() if isinstance(value, date) else value
    order = ("id", "title", "description", "department", "department_code", *DATASET_COLUMNS[3:])
    return {k: rec[k] for k in order}


def reindex(session: Session, ids: Iterable[str] | None = None, analyzer: Analyzer | None = None,
            progress=None) -> int:  # noqa: ANN001 - progress: optional tqdm
    """Rebuild the search docs of `ids` (all datasets when None); returns how many were rebuilt."""
    analyzer = analyzer or get_analyzer()
    query = select(Dataset)
    if ids is not None:
        query = query.where(Dataset.id.in_(list(ids)))
    count = 0
    for dataset in session.scalars(query.execution_options(yield_per=1000)):
        dep = {"name": dataset.department.name, "short_names": list(dataset.department.short_names or [])}
        rec = {"id": dataset.id, **_row_of(dataset)}
        doc = search_doc(rec, dep, analyzer)
        session.execute(update(SearchDoc).where(SearchDoc.dataset_id == dataset.id).values(**doc))
        count += 1
        if progress is not None:
            progress.update(1)
    return count

"""Loading catalogue files: JSONL or CSV, UTF-8 or GB18030, departments or datasets.

Every record is validated; a bad one is reported as `file:line: reason` and skipped, the good ones are
upserted in batches, one transaction per batch (`catalog_index.store`).  Department files are loaded before
dataset files.  Reloading the same file changes nothing (identical records are left untouched).  With
`EMBED_ON_INGEST` (the default) each batch's new and changed datasets are encoded before the batch is written and
their vectors are written with it (`catalog_index.vectors`), with a progress bar of their own.
"""

from __future__ import annotations

import codecs
import csv
import json
import multiprocessing
import re
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from tqdm import tqdm

import settings
from catalog_index import vectors
from catalog_index.analysis import get_analyzer
from catalog_index.models import (
    CATEGORIES,
    DISTRICTS,
    FORMATS,
    OPEN_TYPES,
    SHARE_TYPES,
    UPDATE_FREQUENCIES,
    Department,
)
from catalog_index.store import department_texts, save_datasets, save_departments, search_docs
from database import session_scope
from embedding import Embedder, get_embedder

BATCH_SIZE = 1000
DETECT_BYTES = 1 << 20
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_LIST_SPLIT = re.compile(r"[;；|、,，]")
_TRUE = {"true", "1", "yes", "y", "是", "有"}
_FALSE = {"false", "0", "no", "n", "否", "无", ""}
_FORMAT_ALIASES = {"XLS": "XLSX", "EXCEL": "XLSX"}


class RecordError(ValueError):
    """A record that cannot be loaded; the message says why."""


@dataclass
class LoadReport:
    files: int = 0
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        self.inserted += counts["inserted"]
        self.updated += counts["updated"]
        self.unchanged += counts["unchanged"]

    def summary(self) -> str:
        return (f"{self.files} file(s), {self.read} record(s): {self.inserted} inserted, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.errors)} rejected")


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the head of the file decodes as UTF-8, else 'gb18030' (Excel exports on Chinese
    Windows); raises RecordError when neither decodes."""
    with path.open("rb") as fh:
        head = fh.read(DETECT_BYTES)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < DETECT_BYTES)
            return encoding
        except UnicodeDecodeError:
            continue
    raise RecordError(f"{path}: neither UTF-8 nor GB18030 text")


def _text(rec: dict, key: str, *, required: bool = True, max_len: int | None = None) -> str:
    value = rec.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RecordError(f"{key}: expected text, got {type(value).__name__}")
    value = str(value).strip()
    if required and not value:
        raise RecordError(f"{key}: missing")
    if max_len and len(value) > max_len:
        raise RecordError(f"{key}: longer than {max_len} characters")
    return value


def _list(rec: dict, key: str) -> list[str]:
    value = rec.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RecordError(f"{key}: invalid JSON list ({exc.msg})") from exc
        else:
            value = _LIST_SPLIT.split(text)
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise RecordError(f"{key}: expected a list of text")
    seen: list[str] = []
    for item in (str(v).strip() for v in value):
        if item and item not in seen:
            seen.append(item)
    return seen


def _choice(rec: dict, key: str, choices: tuple[str, ...]) -> str:
    value = _text(rec, key)
    if value not in choices:
        raise RecordError(f"{key}: {value!r} is not one of {'/'.join(choices)}")
    return value


def _bool(rec: dict, key: str) -> bool:
    value = rec.get(key)
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordError(f"{key}: {value!r} is not true/false")


def _date(rec: dict, key: str) -> date | None:
    text = _text(rec, key, required=False).replace("/", "-")
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise RecordError(f"{key}: {text!r} is not a date (YYYY-MM-DD)") from exc


def _count(rec: dict, key: str) -> int:
    value = rec.get(key)
    if value is None or value == "":
        return 0
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError as exc:
        raise RecordError(f"{key}: {value!r} is not a whole number") from exc
    if number < 0:
        raise RecordError(f"{key}: must not be negative")
    return number


def validate_department(rec: dict) -> dict:
    code = _text(rec, "code")
    if not _CODE.match(code):
        raise RecordError(f"code: {code!r} must be 1–32 letters, digits or _")
    return {"code": code, "name": _text(rec, "name", max_len=200), "short_names": _list(rec, "short_names")}


def validate_dataset(rec: dict) -> dict:
    """A clean dataset record, or RecordError naming the first bad field."""
    ident = _text(rec, "id")
    if not _ID.match(ident):
        raise RecordError(f"id: {ident!r} must be 1–64 letters, digits, '-', '_' or '.'")
    formats = [_FORMAT_ALIASES.get(f.upper(), f.upper()) for f in _list(rec, "formats")]
    for fmt in formats:
        if fmt not in FORMATS:
            raise RecordError(f"formats: {fmt!r} is not one of {'/'.join(FORMATS)}")
    out = {
        "id": ident,
        "title": _text(rec, "title", max_len=500),
        "description": _text(rec, "description", required=False),
        "department": _text(rec, "department", required=False, max_len=200),
        "department_code": _text(rec, "department_code", max_len=32),
        "category": _choice(rec, "category", CATEGORIES),
        "keywords": _list(rec, "keywords"),
        "fields": _list(rec, "fields"),
        "formats": list(dict.fromkeys(formats)),
        "share_type": _choice(rec, "share_type", SHARE_TYPES),
        "share_condition": _text(rec, "share_condition", required=False),
        "open_type": _choice(rec, "open_type", OPEN_TYPES),
        "open_condition": _text(rec, "open_condition", required=False),
        "update_frequency": _choice(rec, "update_frequency", UPDATE_FREQUENCIES),
        "record_count": _count(rec, "record_count"),
        "district": _choice(rec, "district", DISTRICTS),
        "has_api": _bool(rec, "has_api"),
        "published": _date(rec, "published"),
        "updated": _date(rec, "updated"),
    }
    if out["share_type"] != "无条件共享" and not out["share_condition"]:
        raise RecordError(f"share_condition: required when share_type is {out['share_type']}")
    if out["open_type"] != "无条件开放" and not out["open_condition"]:
        raise RecordError(f"open_condition: required when open_type is {out['open_type']}")
    if out["has_api"] != ("API" in out["formats"]):
        raise RecordError("has_api: must be true exactly when formats include API")
    if out["published"] and out["updated"] and out["updated"] < out["published"]:
        raise RecordError("updated: earlier than published")
    return out


def read_records(path: Path) -> Iterator[tuple[int, dict | RecordError]]:
    """(line number, raw record or the error) for each record of a JSONL or CSV file."""
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as fh:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(fh)
            for row in reader:
                if None in row:
                    yield reader.line_num, RecordError("more cells than header columns")
                elif any(v is None for v in row.values()):
                    yield reader.line_num, RecordError("fewer cells than header columns")
                else:
                    yield reader.line_num, row
            return
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RecordError(f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            yield number, value if isinstance(value, dict) else RecordError("not a JSON object")


def file_kind(path: Path) -> str:
    """'departments' or 'datasets', from the first record's keys (CSV header or first JSON object)."""
    for _number, rec in read_records(path):
        if isinstance(rec, dict):
            if "title" in rec:
                return "datasets"
            if "code" in rec and "name" in rec:
                return "departments"
            raise RecordError(f"{path}: records have neither 'title' (datasets) nor 'code'+'name' (departments)")
    return "datasets"


def _raw_batches(path: Path, report: LoadReport, bar: tqdm) -> Iterator[list[tuple[int, dict | RecordError]]]:
    """Batches of (line number, raw record or its read error), BATCH_SIZE at a time."""
    batch: list[tuple[int, dict | RecordError]] = []
    last_pos = 0
    for number, raw in read_records(path):
        report.read += 1
        batch.append((number, raw))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
        if number - last_pos >= 200:
            bar.n, last_pos = number, number
            bar.refresh()
    if batch:
        yield batch


def validate_batch(batch: list[tuple[int, dict | RecordError]], validate) -> tuple[  # noqa: ANN001
        list[tuple[int, dict]], list[tuple[int, str]]]:
    """(valid records, errors), each with its line number."""
    good, errors = [], []
    for number, raw in batch:
        try:
            if isinstance(raw, RecordError):
                raise raw
            good.append((number, validate(raw)))
        except RecordError as exc:
            errors.append((number, str(exc)))
    return good, errors


def prepare_datasets(batch: list[tuple[int, dict | RecordError]], departments: dict[str, dict]) -> tuple[
        list[tuple[int, dict]], list[tuple[int, str]], dict[str, dict]]:
    """Validation and search docs of a batch of raw dataset records (pure computation, run in the ingest
    worker process).  Records of departments not in `departments` get no doc here: `_write` decides on them."""
    good, errors = validate_batch(batch, validate_dataset)
    return good, errors, search_docs([r for _n, r in good if r["department_code"] in departments], departments)


def _check_departments(session, batch: list[tuple[int, dict]], path: Path,  # noqa: ANN001
                       report: LoadReport) -> list[dict]:
    """Datasets of unknown departments create the department from the record's `department` name, or are
    rejected when the record has none."""
    codes = {r["department_code"] for _n, r in batch}
    known = {d.code: d.name for d in session.scalars(select(Department).where(Department.code.in_(codes)))}
    names = {d.name: d.code for d in session.scalars(select(Department))} if len(known) < len(codes) else {}
    good = []
    for number, rec in batch:
        code = rec["department_code"]
        if code not in known:
            name = rec["department"]
            if not name:
                report.errors.append(f"{path}:{number}: department_code {code!r} is unknown and the "
                                     "record has no department name")
                continue
            if name in names and names[name] != code:
                report.errors.append(f"{path}:{number}: department {name!r} already has code "
                                     f"{names[name]!r}, not {code!r}")
                continue
            save_departments(session, [{"code": code, "name": name, "short_names": []}])
            known[code], names[name] = name, code
        good.append(rec)
    return good


def load_files(paths: list[Path], url: str | None = None, progress: bool = True,
               embed: bool | None = None) -> LoadReport:
    """Load department and dataset files into the database at `url` (already migrated); `embed` (default:
    the EMBED_ON_INGEST setting, when the database has the vectors table) also brings the loaded datasets'
    vectors up to date.

    Dataset batches are pipelined: a forked worker process validates batch k+1 and segments it for the search
    index while this process encodes and writes batch k (database writes here, everything else there)."""
    report = LoadReport()
    kinds = [(file_kind(p), p) for p in paths]
    kinds.sort(key=lambda kp: kp[0] != "departments")
    get_analyzer()  # loaded before the fork, so the worker inherits it
    if embed is None:  # the setting, for a database that has the vectors table (not one kept at an old revision)
        embed = settings.get().embed_on_ingest and vectors.has_table(url)
    embedder = get_embedder() if embed else None  # a wrong EMBEDDER fails here, before anything is written
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as worker, \
            tqdm(total=0, desc="vectors", unit="dataset", disable=not (progress and embed), position=1) as encoded:
        for kind, path in kinds:
            report.files += 1
            with path.open("rb") as fh:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            with tqdm(total=lines, desc=path.name, unit="line", disable=not progress, leave=False) as bar:
                if kind == "departments":
                    for batch in _raw_batches(path, report, bar):
                        good, errors = validate_batch(batch, validate_department)
                        report.errors += [f"{path}:{number}: {message}" for number, message in errors]
                        with session_scope(url) as session:
                            report.add(save_departments(session, [rec for _n, rec in good]))
                else:
                    _load_datasets(path, url, report, bar, worker, (embedder, encoded) if embedder else None)
                bar.n = lines
                bar.refresh()
    return report


Encoding = tuple[Embedder, tqdm]  # the embedder and the vectors' progress bar


def _load_datasets(path: Path, url: str | None, report: LoadReport, bar: tqdm, worker: Executor,
                   encoding: Encoding | None) -> None:
    with session_scope(url) as session:
        departments = department_texts(session)
    pending: Future | None = None
    for batch in _raw_batches(path, report, bar):
        future = worker.submit(prepare_datasets, batch, departments)
        if pending:
            _write(path, url, report, pending, departments, encoding)
        pending = future
    if pending:
        _write(path, url, report, pending, departments, encoding)


def _write(path: Path, url: str | None, report: LoadReport, prepared: Future, departments: dict[str, dict],
           encoding: Encoding | None) -> None:
    good, errors, docs = prepared.result()
    report.errors += [f"{path}:{number}: {message}" for number, message in errors]
    encoded = _encode(url, [r for _n, r in good], encoding) if encoding else {}
    with session_scope(url) as session:
        records = _check_departments(session, good, path, report)
        report.add(save_datasets(session, records, docs=docs))  # records without a doc get theirs computed here
        vectors.save_vectors(session, [encoded[i] for i in dict.fromkeys(r["id"] for r in records) if i in encoded])


def _encode(url: str | None, records: list[dict], encoding: Encoding) -> dict[str, dict]:
    """Vector rows of the records whose stored vector is stale, encoded outside any transaction (the write
    lock is held only for the write)."""
    embedder, bar = encoding
    with session_scope(url) as session:
        todo = vectors.stale(session, records, embedder.name)
    bar.total += len({r["id"] for r in todo})
    bar.refresh()
    return vectors.encode_records(todo, embedder, bar)

"""Loading: validation with line numbers, encodings, CSV/JSONL, idempotence, index kept in step."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

import settings
from catalog_index.ingest import load_files, validate_dataset
from catalog_index.models import Dataset, Department, SearchDoc
from catalog_index.search import search
from catalog_index.stats import catalog_counts
from catalog_index.store import save_datasets
from database import engine, migrate, session_scope
from tests.catalog.conftest import SAMPLE, fresh_db

DEPARTMENTS = SAMPLE[0]


def index_entries(session, word: str | None = None) -> int:
    """Entries of the full-text index (holding `word`), on either backend: SQLite's FTS5 table, or the tsvector
    column of search_docs on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        where = "WHERE tsv @@ to_tsquery('simple', :word)" if word else "WHERE tsv <> ''::tsvector"
        return session.execute(text(f"SELECT count(*) FROM search_docs {where}"), {"word": word}).scalar()
    where = "WHERE dataset_fts MATCH :word" if word else ""
    return session.execute(text(f"SELECT count(*) FROM dataset_fts {where}"), {"word": f'"{word}"'}).scalar()


def record(**changes) -> dict:
    base = {
        "id": "JTW-9001", "title": "共享电单车停放点位", "description": "中心城区共享电单车规范停放点位及容量。",
        "department": "贵阳市交通委员会", "department_code": "JTW", "category": "交通出行",
        "keywords": ["电单车", "停放点"], "fields": ["点位名称", "经度", "纬度", "容量"], "formats": ["CSV", "API"],
        "share_type": "无条件共享", "share_condition": "", "open_type": "无条件开放", "open_condition": "",
        "update_frequency": "每日", "record_count": 120, "district": "市本级", "has_api": True,
        "published": "2021-03-01", "updated": "2021-06-01",
    }
    base.update(changes)
    return base


def write_jsonl(path, lines) -> None:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")


def test_sample_counts(session):
    assert catalog_counts(session) == {"datasets": 1139, "departments": 51, "with_api": 116}
    indexed = session.scalar(select(func.count()).select_from(SearchDoc))
    fts = index_entries(session)
    assert indexed == fts == 1139


def test_bad_records_are_reported_with_line_numbers_and_skipped(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, [
        record(),                                         # 1 good
        "{not json",                                      # 2
        record(id="JTW-9002", title=""),                  # 3
        record(id="JTW-9003", open_type="随便开放"),         # 4
        "",                                               # 5 blank: ignored
        record(id="JTW-9004", has_api=False),             # 6 API format without has_api
        record(id="JTW-9005", updated="2021-13-40"),      # 7
        record(id="JTW-9006", open_type="有条件开放"),       # 8 condition missing
        record(id="JTW-9007", formats=["CSV", "PDF"], has_api=False),  # 9
        record(id="JTW-9008", department_code="NOPE", department=""),  # 10 unknown department, no name
        "[1, 2]",                                         # 11
        record(id="JTW-9009", record_count=-3),           # 12
        record(id="JTW-9010", title="另一个好数据集"),         # 13 good
    ])
    report = load_files([DEPARTMENTS, path], url, progress=False)
    by_line = {e.split(":")[1]: e for e in report.errors}
    assert sorted(by_line, key=int) == ["2", "3", "4", "6", "7", "8", "9", "10", "11", "12"]
    assert "invalid JSON" in by_line["2"]
    assert "title: missing" in by_line["3"]
    assert "open_type" in by_line["4"] and "随便开放" in by_line["4"]
    assert "has_api" in by_line["6"]
    assert "updated" in by_line["7"]
    assert "open_condition" in by_line["8"]
    assert "PDF" in by_line["9"]
    assert "NOPE" in by_line["10"]
    assert "not a JSON object" in by_line["11"]
    assert "record_count" in by_line["12"]
    assert report.inserted == 51 + 2
    with session_scope(url) as s:
        assert set(s.scalars(select(Dataset.id))) == {"JTW-9001", "JTW-9010"}


def test_reload_is_idempotent_and_updates_the_index(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [record()])
    first = load_files([DEPARTMENTS, path], url, progress=False)
    assert (first.inserted, first.updated) == (52, 0)
    with session_scope(url) as s:
        rowid = s.scalar(select(SearchDoc.rowid))
    again = load_files([DEPARTMENTS, path], url, progress=False)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 52)
    with session_scope(url) as s:
        assert s.scalar(select(SearchDoc.rowid)) == rowid
    write_jsonl(path, [record(title="共享电单车禁停区域", keywords=["禁停区"], description="禁止停放的区域。")])
    changed = load_files([path], url, progress=False)
    assert (changed.updated, changed.inserted) == (1, 0)
    with session_scope(url) as s:
        assert search(s, "禁停区域").results[0]["id"] == "JTW-9001"
        assert index_entries(s, "停放点") == 0
        assert index_entries(s) == 1


def test_deleting_a_dataset_removes_its_index_entry(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [record()])
    load_files([DEPARTMENTS, path], url, progress=False)
    with session_scope(url) as s:
        s.delete(s.get(Dataset, "JTW-9001"))
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(SearchDoc)) == 0
        assert index_entries(s, "电单车") == 0


def test_gb18030_csv_with_list_cells(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "excel_export.csv"
    rows = [record(id="JTW-9101", title="貴陽市網約車平台名錄", keywords="网约车;平台", fields="平台名称；许可证号",
                   formats="CSV|API", has_api="是"),
            record(id="JTW-9102", title="出租汽车服务质量考核结果", keywords="出租车、考核", fields="企业名称",
                   formats="XLS", has_api="否", record_count="1,200")]
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert path.read_bytes().decode("gb18030")  # really GB18030, not UTF-8
    report = load_files([DEPARTMENTS, path], url, progress=False)
    assert report.errors == [] and report.inserted == 53
    with session_scope(url) as s:
        ds = s.get(Dataset, "JTW-9101")
        assert ds.keywords == ["网约车", "平台"] and ds.fields == ["平台名称", "许可证号"]
        assert ds.formats == ["CSV", "API"] and ds.has_api is True
        other = s.get(Dataset, "JTW-9102")
        assert other.formats == ["XLSX"] and other.record_count == 1200
        assert search(s, "网约车平台").results[0]["id"] == "JTW-9101"


def test_csv_row_with_wrong_cell_count(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "short.csv"
    good = record()
    header = ",".join(good)
    values = ",".join(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v) for v in good.values())
    path.write_text("\n".join([header, values.replace('"', '""').join(['', '']), "JTW-9002,只有两格"]) + "\n",
                    encoding="utf-8")
    report = load_files([DEPARTMENTS, path], url, progress=False)
    assert any(e.endswith("fewer cells than header columns") and ":3:" in e for e in report.errors)


def test_unknown_department_is_created_from_the_record(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "new_dep.jsonl"
    write_jsonl(path, [record(id="XX-0001", department_code="XX", department="贵阳市某新设局")])
    report = load_files([path], url, progress=False)
    assert report.errors == []
    with session_scope(url) as s:
        assert s.get(Department, "XX").name == "贵阳市某新设局"


def test_migrate_twice_keeps_data(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [record()])
    load_files([DEPARTMENTS, path], url, progress=False)
    migrate(url)
    with session_scope(url) as s:
        assert s.get(Dataset, "JTW-9001").title == "共享电单车停放点位"


def test_upgrade_to_the_lean_index_rebuilds_it_from_the_search_docs(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0004_search_speed")
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [record()])
    load_files([DEPARTMENTS, path], url, progress=False)
    with engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM dataset_fts_docsize").scalar() == 1
    migrate(url)
    with engine(url).connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "dataset_fts_docsize" not in tables
    with session_scope(url) as s:
        assert [r["id"] for r in search(s, "电单车停放").results] == ["JTW-9001"]


def test_cli_load_export_and_stats(tmp_path):
    url = fresh_db(tmp_path)
    path = tmp_path / "cli.jsonl"
    write_jsonl(path, [record(), record(id="JTW-9002", category="不存在的主题")])

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "catalog_index", "--db", url, *args], cwd=settings.ROOT,
                              capture_output=True, text=True, timeout=120)

    loaded = cli("load", "--quiet", str(DEPARTMENTS), str(path))
    assert loaded.returncode == 0, loaded.stderr
    assert "52 inserted" in loaded.stdout and "1 rejected" in loaded.stdout
    assert f"{path}:2: category" in loaded.stderr
    out = tmp_path / "export.jsonld"
    exported = cli("export", "--format", "jsonld", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    graph = json.loads(out.read_text(encoding="utf-8"))["@graph"]
    assert graph[0]["dct:title"]["@value"] == "共享电单车停放点位"
    assert graph[0]["dct:publisher"]["foaf:name"] == "贵阳市交通委员会"
    assert graph[0]["dct:accrualPeriodicity"]["@id"].endswith("/daily")
    assert {d["dct:format"] for d in graph[0]["dcat:distribution"]} == {"CSV", "API"}
    jsonl = cli("export")
    assert json.loads(jsonl.stdout.splitlines()[0])["id"] == "JTW-9001"
    stats = cli("stats", "--json")
    assert json.loads(stats.stdout)["datasets"] == 1


def test_export_round_trip(tmp_path, sample_url):
    from catalog_index.export import write_jsonl as export_jsonl

    out = tmp_path / "all.jsonl"
    with session_scope(sample_url) as s, out.open("w", encoding="utf-8") as fh:
        assert export_jsonl(s, fh) == 1139
    original = {json.loads(line)["id"]: json.loads(line) for line in SAMPLE[1].read_text(encoding="utf-8").splitlines()}
    exported = {json.loads(line)["id"]: json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()}
    assert exported == original


def test_dataset_and_index_entry_share_one_transaction(tmp_path):
    url = fresh_db(tmp_path)
    load_files([DEPARTMENTS], url, progress=False)
    with pytest.raises(RuntimeError), session_scope(url) as s:
        save_datasets(s, [validate_dataset(record())])
        assert index_entries(s, "电单车") == 1
        raise RuntimeError("abort the transaction")
    with session_scope(url) as s:
        assert s.get(Dataset, "JTW-9001") is None
        assert index_entries(s, "电单车") == 0


def test_search_caches_follow_every_catalogue_change(tmp_path):
    """The per-process snapshot and memos (catalog_index.columns) are per catalogue version: a repeated query
    sees updated filters and facets, deletions, and a database re-created at the same path."""
    url = fresh_db(tmp_path)
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [record()])
    load_files([DEPARTMENTS, path], url, progress=False)
    with session_scope(url) as s:
        first = search(s, "电单车", district="市本级")
        assert [r["id"] for r in first.results] == ["JTW-9001"]
        assert first.facets["format"] == [{"name": "API", "count": 1}, {"name": "CSV", "count": 1}]
    write_jsonl(path, [record(district="花溪区", formats=["JSON"], has_api=False)])
    load_files([path], url, progress=False)
    with session_scope(url) as s:
        assert search(s, "电单车", district="市本级").count == 0
        moved = search(s, "电单车", district="花溪区")
        assert moved.facets["format"] == [{"name": "JSON", "count": 1}]
        assert moved.facets["has_api"] == [{"name": False, "count": 1}]
        assert moved.results[0]["formats"] == ["JSON"]
    with session_scope(url) as s:
        s.delete(s.get(Dataset, "JTW-9001"))
    with session_scope(url) as s:
        assert search(s, "电单车").count == 0
    engine(url).dispose()
    for old in tmp_path.glob("catalog.db*"):
        old.unlink()
    url = fresh_db(tmp_path)
    write_jsonl(path, [record(id="JTW-9002")])
    load_files([DEPARTMENTS, path], url, progress=False)
    with session_scope(url) as s:
        assert [r["id"] for r in search(s, "电单车").results] == ["JTW-9002"]

"""Department names and the abbreviations people use (市交委, 交委 → 贵阳市交通委员会; 交警, 房管局 …).

The aliases of a department: its full name, the name without the city prefix, its short names from the
catalogue (`departments.short_names`) and the everyday names of `data/catalog/department_aliases.yml` (keyed
by full name: old names of merged offices, 交警, 公交公司, 气象台 …), each also with 市 in front."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import settings
from catalog_index.models import Dataset, Department
from textnorm import normalize

COMMON_NAMES = settings.ROOT / "data" / "catalog" / "department_aliases.yml"

CITY_PREFIXES = ("贵阳市人民政府", "国家税务总局贵阳市", "贵阳市", "贵阳")


def aliases(name: str, short_names: list[str]) -> set[str]:
    """Every normalised way of naming a department: the full name, the name without the city prefix (also
    with 市 in front), each abbreviation, and each abbreviation with 市 in front (卫健委 → 市卫健委)."""
    names = {normalize(name)}
    for prefix in CITY_PREFIXES:
        if name.startswith(prefix) and len(name) - len(prefix) >= 2:
            rest = normalize(name[len(prefix):])
            names |= {rest, "市" + rest}
    for short in short_names or []:
        short = normalize(short)
        names.add(short)
        if not short.startswith("市") and len(short) <= 5:
            names.add("市" + short)
    return {n for n in names if len(n) >= 2}


@lru_cache(maxsize=1)
def common_names() -> dict[str, tuple[str, ...]]:
    """Full department name → the everyday names citizens use (COMMON_NAMES; empty when the file is absent)."""
    if not COMMON_NAMES.is_file():
        return {}
    loaded = yaml.safe_load(COMMON_NAMES.read_text(encoding="utf-8")) or {}
    return {name: tuple(str(n) for n in names or []) for name, names in loaded.items()}


@dataclass(frozen=True)
class DepartmentRef:
    """A department as seen by the search (plain data, safe to cache across sessions)."""

    code: str
    name: str


_alias_cache: dict[tuple, dict[str, DepartmentRef]] = {}


def alias_table(session: Session) -> dict[str, DepartmentRef]:
    """alias → department, for every department, longest alias first; an alias claimed by two departments is
    dropped.  Rebuilt only when the departments table changes."""
    rows = session.connection().exec_driver_sql("SELECT code, name, short_names FROM departments ORDER BY code")
    key = tuple((code, name, tuple(json.loads(short) if isinstance(short, str) else short or []))
                for code, name, short in rows)
    table = _alias_cache.get(key)
    if table is not None:
        return table
    table, clashes = {}, set()
    for code, name, short in key:
        ref = DepartmentRef(code, name)
        for alias in aliases(name, [*short, *common_names().get(name, ())]) | {normalize(code)}:
            if alias in table and table[alias].code != code:
                clashes.add(alias)
            table[alias] = ref
    for alias in clashes:
        del table[alias]
    table = dict(sorted(table.items(), key=lambda kv: -len(kv[0])))  # longest first, for search.understand
    if len(_alias_cache) > 8:
        _alias_cache.clear()
    _alias_cache[key] = table
    return table


def resolve(session: Session, text: str) -> Department | None:
    """The department named by `text` (code, full name or any abbreviation), else None."""
    key = normalize(text or "")
    if not key:
        return None
    dep = session.get(Department, text.strip())
    if dep is None:
        ref = alias_table(session).get(key)
        dep = session.get(Department, ref.code) if ref else None
    return dep


def list_departments(session: Session) -> list[dict]:
    """All departments with their dataset counts, by code."""
    counts = dict(session.execute(select(Dataset.department_code, func.count()).group_by(Dataset.department_code)).all())
    return [{**d.to_dict(), "datasets": counts.get(d.code, 0)}
            for d in session.scalars(select(Department).order_by(Department.code))]

"""Department names and the abbreviations people use (市交委, 交委 → 贵阳市交通委员会)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog_index.analysis import normalize
from catalog_index.models import Dataset, Department

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


def alias_table(session: Session) -> dict[str, Department]:
    """alias → Department, for every department; an alias claimed by two departments is dropped."""
    table: dict[str, Department] = {}
    clashes: set[str] = set()
    for dep in session.scalars(select(Department)):
        for alias in aliases(dep.name, dep.short_names) | {normalize(dep.code)}:
            if alias in table and table[alias].code != dep.code:
                clashes.add(alias)
            table[alias] = dep
    for alias in clashes:
        del table[alias]
    return table


def resolve(session: Session, text: str) -> Department | None:
    """The department named by `text` (code, full name or any abbreviation), else None."""
    key = normalize(text or "")
    if not key:
        return None
    dep = session.get(Department, text.strip())
    return dep or alias_table(session).get(key)


def list_departments(session: Session) -> list[dict]:
    """All departments with their dataset counts, by code."""
    counts = dict(session.execute(select(Dataset.department_code, func.count()).group_by(Dataset.department_code)).all())
    return [{**d.to_dict(), "datasets": counts.get(d.code, 0)}
            for d in session.scalars(select(Department).order_by(Department.code))]

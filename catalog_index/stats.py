"""Catalogue counts (the answer to 「目录里有多少数据集」) and breakdowns for `python -m catalog_index stats`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog_index.models import Dataset, Department


def catalog_counts(session: Session) -> dict[str, int]:
    return {
        "datasets": session.scalar(select(func.count()).select_from(Dataset)) or 0,
        "departments": session.scalar(select(func.count()).select_from(Department)) or 0,
        "with_api": session.scalar(select(func.count()).select_from(Dataset).where(Dataset.has_api.is_(True))) or 0,
    }


def breakdown(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Dataset counts per category, district, open type, share type and update frequency."""
    out = {}
    for name in ("category", "district", "open_type", "share_type", "update_frequency"):
        col = getattr(Dataset, name)
        rows = session.execute(select(col, func.count()).group_by(col).order_by(func.count().desc(), col)).all()
        out[name] = [(value, count) for value, count in rows]
    out["record_count_total"] = [("records", int(session.scalar(select(func.sum(Dataset.record_count))) or 0))]  # PostgreSQL: Decimal
    return out

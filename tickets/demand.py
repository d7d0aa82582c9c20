"""Demand insight: searches that found nothing and requests for data not in the catalogue.

`record_search_miss()` is called by the search action when a search returns nothing.  `demand_report()`
merges both sources into the top unmet needs, by theme and department.  Neither stores nor shows personal
data: query text is normalised and scrubbed of phone numbers and long digit runs (ID numbers and the like).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_index.filters import NAMES as FILTER_NAMES
from privacy import mask_text
from textnorm import normalize
from tickets.models import CHANNELS, SearchMiss, Ticket, utcnow

UNKNOWN = "未指明"
_PUNCT = re.compile(r"[\s\u3000，。！？、；：“”‘’（）《》【】,.!?;:'\"()\[\]<>~·…-]+")
_DIGITS = re.compile(r"\d{6,}")
_FILLERS = re.compile(r"^(请问|我想|我要|想要|想找|我想找|有没有|有无|查找|查询|找一下|搜索|帮我找|求)+|"
                      r"(的数据集|的数据|数据集|数据|的信息|信息|吗|呢|啊)+$")
FILTER_KEYS = FILTER_NAMES  # the search filters kept with a search that found nothing


def normalise_query(text: str) -> str:
    """`textnorm.normalize`d, without punctuation, fillers or long digit runs; at most 100 chars."""
    text = _DIGITS.sub("", mask_text(normalize(text)).replace("*", ""))
    text = _PUNCT.sub("", text)
    previous = None
    while previous != text:
        previous, text = text, _FILLERS.sub("", text)
    return text[:100]


def _clean_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (filters or {}).items() if k in FILTER_KEYS and v not in (None, "", [])}


def record_search_miss(session: Session, query: str, filters: dict[str, Any] | None, channel: str) -> SearchMiss | None:
    """Remember a search that found nothing (nothing is recorded when the query is empty after normalising)."""
    normalised = normalise_query(query)
    if not normalised:
        return None
    row = SearchMiss(query=normalised, filters=_clean_filters(filters),
                     channel=channel if channel in CHANNELS else "other", at=utcnow())
    session.add(row)
    session.flush()
    return row


def demand_report(session: Session, days: int = 90, limit: int = 20, now: datetime | None = None) -> dict:
    since = (now or utcnow()) - timedelta(days=days)
    needs: dict[str, dict] = {}
    by_theme: Counter = Counter()
    by_department: Counter = Counter()
    by_week: dict[str, Counter] = {}  # Monday of the week → searches / requests

    def add(query: str, source: str, theme: str | None, department: str | None, at: datetime) -> None:
        need = needs.setdefault(query, {"need": query, "searches": 0, "requests": 0, "themes": Counter(),
                                        "departments": Counter(), "first_seen": at, "last_seen": at})
        need[source] += 1
        need["themes"][theme or UNKNOWN] += 1
        need["departments"][department or UNKNOWN] += 1
        need["first_seen"], need["last_seen"] = min(need["first_seen"], at), max(need["last_seen"], at)
        by_theme[theme or UNKNOWN] += 1
        by_department[department or UNKNOWN] += 1
        by_week.setdefault((at.date() - timedelta(days=at.weekday())).isoformat(), Counter())[source] += 1

    for miss in session.execute(select(SearchMiss).where(SearchMiss.at >= since)).scalars():
        add(miss.query, "searches", (miss.filters or {}).get("category"), (miss.filters or {}).get("department"),
            miss.at)
    requests = select(Ticket).where(Ticket.type == "data_request", Ticket.dataset_id.is_(None),
                                    Ticket.created_at >= since)
    for ticket in session.execute(requests).scalars():
        query = normalise_query(ticket.requested_data or "")
        if query:
            add(query, "requests", None, ticket.department, ticket.created_at)

    ranked = sorted(needs.values(), key=lambda n: (-(n["searches"] + n["requests"]), -n["requests"], n["need"]))
    top = [{
        "need": n["need"], "total": n["searches"] + n["requests"], "searches": n["searches"],
        "requests": n["requests"], "theme": n["themes"].most_common(1)[0][0],
        "department": n["departments"].most_common(1)[0][0],
        "first_seen": n["first_seen"].date().isoformat(), "last_seen": n["last_seen"].date().isoformat(),
    } for n in ranked[:limit]]
    return {
        "days": days, "since": since.date().isoformat(),
        "totals": {"searches": sum(n["searches"] for n in needs.values()),
                   "requests": sum(n["requests"] for n in needs.values()), "distinct_needs": len(needs)},
        "top_needs": top,
        "by_theme": [{"theme": k, "count": v} for k, v in by_theme.most_common()],
        "by_department": [{"department": k, "count": v} for k, v in by_department.most_common()],
        "by_week": [{"week": week, "searches": c["searches"], "requests": c["requests"]}
                    for week, c in sorted(by_week.items())],
    }


def format_table(report: dict) -> str:
    lines = [f"未满足的数据需求（近{report['days']}天，自{report['since']}起）：搜索无结果 {report['totals']['searches']} 次，"
             f"目录外数据申请 {report['totals']['requests']} 件，共 {report['totals']['distinct_needs']} 项需求", ""]
    lines.append(f"{'#':>3}  {'合计':>4} {'搜索':>4} {'申请':>4}  {'主题':<8} {'部门':<16} 需求")
    for i, need in enumerate(report["top_needs"], 1):
        lines.append(f"{i:>3}  {need['total']:>4} {need['searches']:>4} {need['requests']:>4}  "
                     f"{need['theme']:<8} {need['department']:<16} {need['need']}")
    for title, key, label in (("按主题", "by_theme", "theme"), ("按部门", "by_department", "department")):
        lines += ["", title + "："] + [f"  {row[label]}: {row['count']}" for row in report[key]]
    return "\n".join(lines)



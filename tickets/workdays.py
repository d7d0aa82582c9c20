"""Working-day arithmetic on the Chinese official calendar, China's time zone, and the deadline rules of deadlines.yml."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import chinese_calendar
import yaml

from tickets import types

log = logging.getLogger(__name__)

DEADLINES_FILE = Path(__file__).resolve().parent / "deadlines.yml"
CHINA = timezone(timedelta(hours=8))  # China Standard Time, no daylight saving


def china_today() -> date:
    return datetime.now(CHINA).date()


@dataclass(frozen=True)
class Deadline:
    working_days: int
    extension_working_days: int
    settled: bool
    basis: str


@dataclass(frozen=True)
class DueDate:
    date: date
    exact: bool  # False: the calendar did not know a year on the way, weekends only were skipped


@cache
def _load(path: str) -> dict[str, Deadline]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {kind: Deadline(int(rule["working_days"]), int(rule.get("extension_working_days", 0)),
                           bool(rule["settled"]), str(rule["basis"])) for kind, rule in raw.items()}


def deadline(ticket_type: str, path: Path = DEADLINES_FILE) -> Deadline:
    return _load(str(path))[types.get(ticket_type).deadline]


def is_workday(day: date) -> tuple[bool, bool]:
    """(is it a working day, did the calendar know the year)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, days: int) -> DueDate:
    """The date `days` working days after `start` (the day of receipt itself is not counted)."""
    day, counted, exact = start, 0, True
    while counted < days:
        day += timedelta(days=1)
        workday, known = is_workday(day)
        if not known and exact:
            log.warning("chinese-calendar does not know %s; counting Monday-Friday only", day.year)
        exact = exact and known
        counted += workday
    return DueDate(day, exact)


def due_date(ticket_type: str, received: date) -> DueDate:
    return add_working_days(received, deadline(ticket_type).working_days)


def describe_due(ticket_type: str, due: date, exact: bool) -> str:
    """The due date as the assistant words it: an estimate with its basis where the number is not settled."""
    rule = deadline(ticket_type)
    text = f"{due.year}年{due.month}月{due.day}日"
    if rule.settled:
        sentence = f"办理期限：{text}前（{rule.working_days}个工作日）。"
    else:
        sentence = f"预计在{text}前后答复（估算：{rule.basis}，以实际答复为准）。"
    if not exact:
        sentence += "该年度的法定节假日安排尚未收录，暂按周一至周五推算。"
    return sentence

"""Staff working hours (settings WORK_HOURS on Chinese working days, Beijing time): are staff at work now, and if
not, when does the next working period start.  Used by 转人工 (actions/handoff.py) to say when someone will call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import settings
from tickets.workdays import CHINA, is_workday

WEEKDAYS = "一二三四五六日"
LOOKAHEAD_DAYS = 40  # the longest run of days off (Spring Festival with weekends) is far shorter


@dataclass(frozen=True)
class Hours:
    open: bool  # staff are at work at this moment
    next_start: datetime | None  # the start of the next working period (Beijing time) when not open


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def describe_hours(periods: tuple[tuple[time, time], ...] | None = None) -> str:
    """"工作日（周一至周五，法定节假日除外）9:00–12:00、13:00–17:00（北京时间）"."""
    periods = periods or settings.get().work_hours
    spans = "、".join(f"{_clock(start)}–{_clock(end)}" for start, end in periods)
    return f"工作日（周一至周五，法定节假日除外）{spans}（北京时间）"


def local(moment: datetime) -> datetime:
    """`moment` as naive Beijing time (an aware moment is converted; a naive one is taken as Beijing time)."""
    return moment.astimezone(CHINA).replace(tzinfo=None) if moment.tzinfo else moment


def at(moment: datetime, periods: tuple[tuple[time, time], ...] | None = None) -> Hours:
    """Whether `moment` (aware, or naive Beijing time) falls in a working period, else the next period's start."""
    periods = periods or settings.get().work_hours
    now = local(moment)
    day = now.date()
    for offset in range(LOOKAHEAD_DAYS):
        candidate = day + timedelta(days=offset)
        if not is_workday(candidate)[0]:
            continue
        for start, end in periods:
            if offset == 0 and start <= now.time() < end:
                return Hours(True, None)
            if offset > 0 or now.time() < start:
                return Hours(False, datetime.combine(candidate, start))
    raise RuntimeError(f"no working day within {LOOKAHEAD_DAYS} days of {day}")


def describe_start(start: datetime, today: date) -> str:
    """When the next working period starts, as the assistant says it: "今天 13:00 后", "明天（11月28日，周六）9:00 后",
    "下一个工作日（12月1日，周一）9:00 后"."""
    clock = f"{_clock(start.time())} 后"
    if start.date() == today:
        return f"今天 {clock}"
    day = f"{start.month}月{start.day}日，周{WEEKDAYS[start.weekday()]}"
    which = "明天" if start.date() == today + timedelta(days=1) else "下一个工作日"
    return f"{which}（{day}）{clock}"

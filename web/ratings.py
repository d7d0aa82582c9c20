"""满意/不满意 ratings from the chat page: stored without any personal data, summarised on the demand dashboard.

`POST /api/ratings` `{"value": "satisfied"|"unsatisfied", "moment": "answer"|"conversation"}` (public, same
origin as the chat page) → 201.  Only the value, the moment (after an answer or at the end of a conversation),
the channel and the time are kept: no session id, no message text.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import Session

import settings
from database import Base
from tickets.lookup import RateLimit
from tickets.models import utcnow
from web.common import client_address, error, in_session, json_body, text_field

VALUES = {"satisfied": "满意", "unsatisfied": "不满意"}
MOMENTS = {"answer": "答复后", "conversation": "对话结束"}
LIMIT = web.AppKey("ratings_limit", RateLimit)


class Rating(Base):
    __tablename__ = "ratings"

    id = Column(Integer, primary_key=True)
    value = Column(String(16), nullable=False)  # satisfied | unsatisfied
    moment = Column(String(16), nullable=False)  # answer | conversation
    channel = Column(String(16), nullable=False, default="web")
    at = Column(DateTime, nullable=False, default=utcnow, index=True)


def record(session: Session, value: str, moment: str, channel: str = "web") -> Rating:
    if value not in VALUES or moment not in MOMENTS:
        raise ValueError(f"value must be one of {', '.join(VALUES)} and moment one of {', '.join(MOMENTS)}")
    row = Rating(value=value, moment=moment, channel=channel, at=utcnow())
    session.add(row)
    session.flush()
    return row


def summary(session: Session, since: datetime) -> dict:
    """Counts by value and moment, the share satisfied, and satisfied/unsatisfied per week (Monday)."""
    by_value: Counter = Counter()
    by_moment: dict[str, Counter] = {m: Counter() for m in MOMENTS}
    by_week: dict[str, Counter] = {}
    for row in session.execute(select(Rating).where(Rating.at >= since)).scalars():
        by_value[row.value] += 1
        by_moment[row.moment][row.value] += 1
        by_week.setdefault((row.at.date() - timedelta(days=row.at.weekday())).isoformat(), Counter())[row.value] += 1
    total = sum(by_value.values())
    return {
        "total": total, "satisfied": by_value["satisfied"], "unsatisfied": by_value["unsatisfied"],
        "share_satisfied": round(by_value["satisfied"] / total, 3) if total else None,
        "by_moment": [{"moment": MOMENTS[m], "satisfied": c["satisfied"], "unsatisfied": c["unsatisfied"]}
                      for m, c in by_moment.items()],
        "by_week": [{"week": w, "satisfied": c["satisfied"], "unsatisfied": c["unsatisfied"]}
                    for w, c in sorted(by_week.items())],
    }


async def post_rating(request: web.Request) -> web.Response:
    """Public, so limited like every body (`json_body`) and per client address (RATINGS_PER_CLIENT_HOUR)."""
    wait = request.app[LIMIT].take(client_address(request), settings.get().ratings_per_client_hour, 3600)
    if wait:
        raise error(429, "too many ratings from this address; try again later", {"Retry-After": str(int(wait) + 1)},
                    message="评价提交过于频繁，请稍后再试。")
    body = await json_body(request)
    value, moment = text_field(body, "value"), text_field(body, "moment")
    if value not in VALUES or moment not in MOMENTS:
        raise error(400, f"value must be one of {', '.join(VALUES)} and moment one of {', '.join(MOMENTS)}")
    await in_session(request, lambda s: record(s, value, moment))
    return web.json_response({"ok": True}, status=201)


def setup_routes(app: web.Application) -> None:
    app[LIMIT] = RateLimit()
    app.router.add_post("/api/ratings", post_rating)

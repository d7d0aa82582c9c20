"""What the HTTP API modules share: the database of a request, JSON bodies and errors, work off the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

import settings
from database import session_scope

ERRORS = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
          409: web.HTTPConflict, 503: web.HTTPServiceUnavailable}


def db_url(app: web.Application) -> str:
    """The application's database: `app["db_url"]` when set (tests, `create_app(url)`), else settings."""
    return app.get("db_url") or settings.get().db_url


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> web.HTTPException:
    """A JSON error `{"error": message, **extra}` to raise."""
    return ERRORS[status](text=dumps({"error": message, **extra}), content_type="application/json",
                          headers=headers)


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    """`func(*args)` in the default thread pool (the event loop never blocks on SQL or a snapshot rebuild)."""
    return await asyncio.to_thread(func, *args)


async def in_session(request: web.Request, work: Callable[[Session], Any]) -> Any:
    """`work(session)` in the thread pool, inside one transaction on the request's database."""
    url = db_url(request.app)

    def job() -> Any:
        with session_scope(url) as session:
            return work(session)

    return await in_thread(job)

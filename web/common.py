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
          409: web.HTTPConflict, 413: web.HTTPRequestEntityTooLarge, 429: web.HTTPTooManyRequests,
          503: web.HTTPServiceUnavailable}
MAX_DEPTH = 4  # a JSON body of this API is an object of plain values: deeper nesting is refused


def db_url(app: web.Application) -> str:
    """The application's database: `app["db_url"]` when set (tests, `create_app(url)`), else settings."""
    return app.get("db_url") or settings.get().db_url


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def error(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> web.HTTPException:
    """A JSON error `{"error": detail, **extra}` to raise (a Chinese `message` for the public goes in `extra`)."""
    kwargs = {"max_size": 0, "actual_size": 0} if status == 413 else {}
    return ERRORS[status](text=dumps({"error": detail, **extra}), content_type="application/json",
                          headers=headers, **kwargs)


def _check_value(value: Any, path: str, depth: int, max_chars: int) -> None:
    """400 naming the field for a string that UTF-8 cannot carry or that is too long, or nesting too deep."""
    if depth > MAX_DEPTH:
        raise error(400, f"'{path}' is nested too deeply (at most {MAX_DEPTH} levels)", field=path)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise error(400, f"'{path}' contains an invalid character (a lone UTF-16 surrogate)", field=path) from None
        if len(value) > max_chars:
            raise error(400, f"'{path}' is too long: at most {max_chars} characters, got {len(value)}",
                        field=path, limit=max_chars)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(key, f"{path}.<key>", depth + 1, max_chars)
            _check_value(item, f"{path}.{key}", depth + 1, max_chars)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1, max_chars)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a JSON 400/413 naming what is wrong: never a 500 on a hostile body.

    Refused: more than API_BODY_MAX_BYTES, not UTF-8, not JSON, not an object, nested deeper than MAX_DEPTH,
    a string with a lone surrogate (`"\\ud800"`) or longer than API_TEXT_MAX_CHARS.
    """
    conf = settings.get()
    limit = conf.api_body_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise error(413, f"the body is too large: at most {limit} bytes, got {request.content_length}", limit=limit)
    raw = bytearray()
    async for chunk in request.content.iter_any():  # a chunked body is counted as it arrives
        raw += chunk
        if len(raw) > limit:
            raise error(413, f"the body is too large: at most {limit} bytes", limit=limit)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise error(400, "the body must be a JSON object (UTF-8)") from None
    except RecursionError:
        raise error(400, f"the body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not isinstance(body, dict):
        raise error(400, "the body must be a JSON object")
    for key, value in body.items():
        _check_value(key, "<key>", 1, conf.api_text_max_chars)
        _check_value(value, key, 1, conf.api_text_max_chars)
    return body


def text_field(body: dict[str, Any], name: str, required: str | None = None) -> str | None:
    """`body[name]` as a string (None when absent); 400 naming the field when it is another type.

    With `required` (what the field is, for the message) an absent or blank value is a 400 too.
    """
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise error(400, f"'{name}' must be a string, got {type(value).__name__}", field=name)
    if required and not (value or "").strip():
        raise error(400, f"'{name}' ({required}) is required", field=name)
    return value


def client_address(request: web.Request) -> str:
    """The client of a request for rate limits and the audit log: the peer address, or, when the peer is a proxy
    of TRUSTED_PROXIES (the production profile's haproxy, `option forwardfor`), the address that proxy appended
    to X-Forwarded-For, i.e. the last one (whatever a client sent itself stays in front of it, never taken)."""
    peer = request.remote or "unknown"
    if peer not in settings.get().trusted_proxies:
        return peer
    hops = [hop.strip() for value in request.headers.getall("X-Forwarded-For", ()) for hop in value.split(",")]
    return hops[-1] if hops and hops[-1] else peer


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

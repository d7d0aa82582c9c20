"""Ticket API: the staff desk (token-protected), the public status lookup and the demand report.

Staff authenticate with `Authorization: Bearer <token>` (tokens from `python -m tickets token create`, stored
hashed; `STAFF_API_TOKEN` seeds a development token at start-up).  No token or an unknown/revoked one → 401;
a `reader` token on a write → 403.  Errors are JSON `{"error": "..."}` with a precise message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import settings
from database import session_scope
from privacy import find_phone
from tickets import demand, service, staff, transitions
from tickets.models import APPLICANT_TYPES, COMPLAINT_CATEGORIES, TICKET_TYPES

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
EXPORT_LIMIT = 10000
NOT_FOUND = {"error": "no ticket matches this number and phone tail"}


def _error(status: int, message: str, **headers: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
           409: web.HTTPConflict}[status]
    return cls(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json",
               headers=headers or None)


def _db_url(request: web.Request) -> str:
    return request.app.get("db_url") or settings.get().db_url


async def _in_session(request: web.Request, work: Callable[[Session], Any]) -> Any:
    """Run `work(session)` in a worker thread inside one transaction (the event loop never blocks on SQL)."""
    url = _db_url(request)

    def job() -> Any:
        with session_scope(url) as session:
            return work(session)

    return await asyncio.to_thread(job)


async def _staff(request: web.Request, role: str = "reader") -> staff.Staff:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _error(401, "staff token required: send 'Authorization: Bearer <token>'",
                     **{"WWW-Authenticate": 'Bearer realm="staff"'})
    member = await _in_session(request, lambda s: staff.verify(s, token.strip()))
    if member is None:
        raise _error(401, "unknown or revoked staff token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if role == "agent" and member.role != "agent":
        raise _error(403, f"staff token '{member.name}' is read-only (role {member.role}); this needs role agent")
    return member


def _bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise _error(400, f"{name} must be true or false, got {raw!r}")


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise _error(400, f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise _error(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def _filters(request: web.Request) -> dict[str, Any]:
    ticket_type, status = request.query.get("type") or None, request.query.get("status") or None
    if ticket_type and ticket_type not in TICKET_TYPES:
        raise _error(400, f"type must be one of {', '.join(TICKET_TYPES)}")
    if status and status not in transitions.STATUSES:
        raise _error(400, f"status must be one of {', '.join(transitions.STATUSES)}")
    return {"type": ticket_type, "status": status, "department": request.query.get("department") or None,
            "overdue": _bool_param(request, "overdue")}


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _error(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _error(400, "the body must be a JSON object")
    return body


def _ticket_or_404(session: Session, number: str) -> Any:
    ticket = service.get(session, number)
    if ticket is None:
        raise _error(404, f"no ticket {number}")
    return ticket


# -- staff ------------------------------------------------------------------------------------------

async def list_tickets(request: web.Request) -> web.Response:
    await _staff(request)
    filters = _filters(request)
    page = _int_param(request, "page", 1, 1, 100000)
    per_page = _int_param(request, "per_page", 20, 1, MAX_PER_PAGE)

    def work(session: Session) -> dict:
        rows, total = service.list_tickets(session, page=page, per_page=per_page, **filters)
        items = [{k: v for k, v in service.staff_view(t).items() if k != "history"} for t in rows]
        return {"total": total, "page": page, "per_page": per_page, "items": items}

    return web.json_response(await _in_session(request, work), dumps=_dumps)


async def export_tickets(request: web.Request) -> web.Response:
    await _staff(request)
    filters = _filters(request)

    def work(session: Session) -> str:
        rows, _ = service.list_tickets(session, page=1, per_page=EXPORT_LIMIT, **filters)
        return service.export_csv(rows)

    body = await _in_session(request, work)
    return web.Response(body=("\ufeff" + body).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="tickets.csv"'})


async def get_ticket(request: web.Request) -> web.Response:
    reveal = request.query.get("reveal") == "contact"
    member = await _staff(request, "agent" if reveal else "reader")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        if reveal:  # seeing the contact in clear is audited in the ticket's history
            service.add_note(session, ticket, member.name, "", kind="contact_viewed")
        return service.staff_view(ticket, reveal_contact=reveal)

    return web.json_response(await _in_session(request, work), dumps=_dumps)


async def post_transition(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    body = await _json_body(request)
    target, note, resolution = body.get("to"), body.get("note"), body.get("resolution")
    if not isinstance(target, str) or not target:
        raise _error(400, "'to' (the new status) is required")
    if note is not None and not isinstance(note, str):
        raise _error(400, "'note' must be a string")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        allowed = transitions.ALLOWED[ticket.status]
        if target in transitions.STATUSES and target not in allowed:
            raise _error(409, f"{ticket.status} -> {target} is not allowed; allowed from {ticket.status}: "
                              f"{', '.join(allowed) or 'none (final status)'}")
        try:
            service.transition(session, ticket, target, member.name, note=note, resolution=resolution)
        except transitions.TransitionError as exc:  # unknown status, missing note, unknown resolution
            raise _error(400, str(exc)) from None
        return service.staff_view(ticket)

    return web.json_response(await _in_session(request, work), dumps=_dumps)


def _required_note(body: dict, what: str) -> str:
    note = body.get("note")
    if not isinstance(note, str) or not note.strip():
        raise _error(400, f"'note' ({what}) is required")
    return note


async def post_note(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    note = _required_note(await _json_body(request), "a non-empty string")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        service.add_note(session, ticket, member.name, note)
        return service.staff_view(ticket)

    return web.json_response(await _in_session(request, work), status=201, dumps=_dumps)


async def post_extension(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    note = _required_note(await _json_body(request), "the reason for the extension")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        try:
            service.extend_due(session, ticket, member.name, note)
        except transitions.TransitionError as exc:
            raise _error(409, str(exc)) from None
        return service.staff_view(ticket)

    return web.json_response(await _in_session(request, work), dumps=_dumps)


def _api_fields(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Validate a ticket created through the API (same rules as the conversation)."""
    ticket_type = body.get("type")
    if ticket_type not in TICKET_TYPES:
        raise _error(400, f"type must be one of {', '.join(TICKET_TYPES)}")
    text = {k: (body.get(k) or "").strip() if isinstance(body.get(k, ""), str) else None
            for k in ("requested_data", "dataset_id", "purpose", "applicant_type", "applicant_name", "category",
                      "description", "phone", "email", "department")}
    if any(v is None for v in text.values()):
        raise _error(400, "ticket fields must be strings")
    anonymous = body.get("anonymous") is True
    phone = find_phone(text["phone"]) if text["phone"] else None
    if text["phone"] and phone is None:
        raise _error(400, "phone must be a mainland mobile (13812345678) or a landline with area code (0851-86861234)")
    if ticket_type == "data_request":
        missing = [k for k in ("purpose", "applicant_type", "applicant_name") if not text[k]]
        if not (text["requested_data"] or text["dataset_id"]):
            missing.insert(0, "requested_data or dataset_id")
        if phone is None:
            missing.append("phone")
        if missing:
            raise _error(400, f"missing fields for a data_request: {', '.join(missing)}")
        if text["applicant_type"] not in APPLICANT_TYPES:
            raise _error(400, f"applicant_type must be one of {', '.join(APPLICANT_TYPES)}")
        fields = {k: text[k] or None for k in ("requested_data", "dataset_id", "purpose", "applicant_type",
                                               "applicant_name", "email", "department")}
        return ticket_type, {**fields, "phone": phone}
    if text["category"] not in COMPLAINT_CATEGORIES:
        raise _error(400, f"category must be one of {', '.join(COMPLAINT_CATEGORIES)}")
    if len(text["description"]) < 10:
        raise _error(400, "description must be at least 10 characters")
    if phone is None and not anonymous:
        raise _error(400, "give a phone, or anonymous: true")
    return ticket_type, {"category": text["category"], "description": text["description"],
                         "department": text["department"] or None, "phone": None if anonymous else phone,
                         "anonymous": anonymous}


async def create_ticket(request: web.Request) -> web.Response:
    await _staff(request, "agent")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 100:
        raise _error(400, "an Idempotency-Key header (1-100 characters) is required")
    ticket_type, fields = _api_fields(await _json_body(request))
    try:
        receipt = await asyncio.to_thread(service.submit, _db_url(request), ticket_type, "api", f"api:{key}", fields)
    except OperationalError:
        raise web.HTTPServiceUnavailable(text='{"error": "database busy, retry with the same Idempotency-Key"}',
                                         content_type="application/json") from None
    view = await _in_session(request, lambda s: service.staff_view(service.get(s, receipt.number)))
    return web.json_response(view, status=201 if receipt.created else 200, dumps=_dumps)


async def demand_report(request: web.Request) -> web.Response:
    await _staff(request)
    days = _int_param(request, "days", 90, 1, 3650)
    limit = _int_param(request, "limit", 20, 1, 200)
    report = await _in_session(request, lambda s: demand.demand_report(s, days=days, limit=limit))
    return web.json_response(report, dumps=_dumps)


# -- public -----------------------------------------------------------------------------------------

async def public_status(request: web.Request) -> web.Response:
    tail = request.query.get("phone_tail", "")
    if not (len(tail) == 4 and tail.isdigit()):
        raise _error(400, "phone_tail (the last 4 digits of the contact phone) is required")
    number = request.match_info["number"]

    def work(session: Session) -> dict | None:
        ticket = service.lookup_public(session, number, tail)
        return service.public_view(ticket) if ticket is not None else None

    view = await _in_session(request, work)
    if view is None:  # unknown number and wrong tail look the same
        return web.json_response(NOT_FOUND, status=404)
    return web.json_response(view, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _seed_dev_token(app: web.Application) -> None:
    token = settings.get().staff_api_token
    if not token:
        return
    url = app.get("db_url") or settings.get().db_url

    def job() -> bool:
        with session_scope(url) as session:
            return staff.seed(session, token)

    try:
        if await asyncio.to_thread(job):
            log.info("seeded the development staff token from STAFF_API_TOKEN")
    except OperationalError as exc:  # tables not migrated yet: the API answers 401 until they are
        log.warning("could not seed STAFF_API_TOKEN: %s", exc)


def setup_routes(app: web.Application) -> None:
    app.on_startup.append(_seed_dev_token)
    router = app.router
    router.add_get("/api/tickets", list_tickets)
    router.add_post("/api/tickets", create_ticket)
    router.add_get("/api/tickets/export.csv", export_tickets)
    router.add_get("/api/tickets/{number}/status", public_status)
    router.add_get("/api/tickets/{number}", get_ticket)
    router.add_post("/api/tickets/{number}/transitions", post_transition)
    router.add_post("/api/tickets/{number}/notes", post_note)
    router.add_post("/api/tickets/{number}/extension", post_extension)
    router.add_get("/api/reports/demand", demand_report)

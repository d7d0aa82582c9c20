"""Ticket API: the staff desk (token-protected), the public status lookup and the demand report.

`GET /api/tickets` (and both CSV exports) take the filters type, status, department, overdue and
`sort=<key>|-<key>` with a key of `tickets.service.SORT_KEYS` (created_at, due_date, status …; default -created_at).

Staff authenticate with `Authorization: Bearer <token>` (tokens from `python -m tickets token create`, stored
hashed; `STAFF_API_TOKEN` seeds a development token at start-up).  No token or an unknown/revoked one → 401;
a `reader` token on a write → 403.  Errors are JSON `{"error": "..."}` with a precise message.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import settings
from database import session_scope
from tickets import demand, lookup, service, staff, transitions, types
from tickets.fields import Invalid
from web.common import client_address, db_url, dumps, error, in_session, in_thread, json_body, text_field

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
EXPORT_LIMIT = 10000
LIMITS = web.AppKey("status_lookup_limits", lookup.Limits)
NOT_FOUND = {"error": "no ticket matches this number and phone tail"}


async def _staff(request: web.Request, role: str = "reader") -> staff.Staff:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise error(401, "staff token required: send 'Authorization: Bearer <token>'",
                    {"WWW-Authenticate": 'Bearer realm="staff"'})
    member = await in_session(request, lambda s: staff.verify(s, token.strip()))
    if member is None:
        raise error(401, "unknown or revoked staff token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if role == "agent" and member.role != "agent":
        raise error(403, f"staff token '{member.name}' is read-only (role {member.role}); this needs role agent")
    return member


def _bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise error(400, f"{name} must be true or false, got {raw!r}")


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise error(400, f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise error(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def _filters(request: web.Request) -> dict[str, Any]:
    ticket_type, status = request.query.get("type") or None, request.query.get("status") or None
    if ticket_type and ticket_type not in types.TYPES:
        raise error(400, f"type must be one of {', '.join(types.NAMES)}")
    if status and status not in transitions.STATUSES:
        raise error(400, f"status must be one of {', '.join(transitions.STATUSES)}")
    sort = request.query.get("sort") or service.DEFAULT_SORT
    if sort not in service.SORTS:
        raise error(400, f"sort must be one of {', '.join(service.SORTS)} (a leading '-' sorts descending), "
                         f"got {sort!r}", allowed=list(service.SORTS))
    return {"type": ticket_type, "status": status, "department": request.query.get("department") or None,
            "overdue": _bool_param(request, "overdue"), "sort": sort}


def _ticket_or_404(session: Session, number: str) -> Any:
    ticket = service.get(session, number)
    if ticket is None:
        raise error(404, f"no ticket {number}")
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

    return web.json_response(await in_session(request, work), dumps=dumps)


async def export_tickets(request: web.Request) -> web.Response:
    await _staff(request)
    filters = _filters(request)

    def work(session: Session) -> str:
        rows, _ = service.list_tickets(session, page=1, per_page=EXPORT_LIMIT, **filters)
        return service.export_csv(rows)

    body = await in_session(request, work)
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

    return web.json_response(await in_session(request, work), dumps=dumps)


async def post_transition(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    body = await json_body(request)
    note, resolution = text_field(body, "note"), text_field(body, "resolution")
    target = text_field(body, "to", "the new status")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        allowed = transitions.ALLOWED[ticket.status]
        if target in transitions.STATUSES and target not in allowed:
            raise error(409, f"{ticket.status} -> {target} is not allowed; allowed from {ticket.status}: "
                              f"{', '.join(allowed) or 'none (final status)'}")
        try:
            service.transition(session, ticket, target, member.name, note=note, resolution=resolution)
        except transitions.TransitionError as exc:  # unknown status, missing note, unknown resolution
            raise error(400, str(exc)) from None
        return service.staff_view(ticket)

    return web.json_response(await in_session(request, work), dumps=dumps)


async def post_note(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    note = text_field(await json_body(request), "note", "a non-empty string")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        service.add_note(session, ticket, member.name, note)
        return service.staff_view(ticket)

    return web.json_response(await in_session(request, work), status=201, dumps=dumps)


async def post_extension(request: web.Request) -> web.Response:
    member = await _staff(request, "agent")
    note = text_field(await json_body(request), "note", "the reason for the extension")
    number = request.match_info["number"]

    def work(session: Session) -> dict:
        ticket = _ticket_or_404(session, number)
        try:
            service.extend_due(session, ticket, member.name, note)
        except transitions.TransitionError as exc:
            raise error(409, str(exc)) from None
        return service.staff_view(ticket)

    return web.json_response(await in_session(request, work), dumps=dumps)


async def create_ticket(request: web.Request) -> web.Response:
    await _staff(request, "agent")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 100:
        raise error(400, "an Idempotency-Key header (1-100 characters) is required")
    body, url = await json_body(request), db_url(request.app)
    for name in body:
        if name in types.COLUMNS or name == "type":
            text_field(body, name)
    try:  # the conversation's rules; some look the department or dataset up in the catalogue
        ticket_type, fields = await in_thread(types.from_api, body, url)
    except Invalid as exc:
        raise error(400, exc.message) from None
    try:
        receipt = await in_thread(service.submit, url, ticket_type.name, "api", f"api:{key}", fields)
    except OperationalError:
        raise error(503, "database busy, retry with the same Idempotency-Key") from None

    def work(session: Session) -> dict:
        ticket = service.get(session, receipt.number)
        if not receipt.created and not service.same_request(ticket, ticket_type.name, fields):
            raise error(409, f"Idempotency-Key {key!r} was already used for ticket {ticket.number} with a different "
                             "body; use a new key for a new ticket")
        return service.staff_view(ticket)

    view = await in_session(request, work)
    return web.json_response(view, status=201 if receipt.created else 200, dumps=dumps)


async def demand_report(request: web.Request) -> web.Response:
    await _staff(request)
    days = _int_param(request, "days", 90, 1, 3650)
    limit = _int_param(request, "limit", 20, 1, 200)
    report = await in_session(request, lambda s: demand.demand_report(s, days=days, limit=limit))
    return web.json_response(report, dumps=dumps)


# -- public -----------------------------------------------------------------------------------------

async def public_status(request: web.Request) -> web.Response:
    tail = request.query.get("phone_tail", "")
    if not (len(tail) == 4 and tail.isdigit()):
        raise error(400, "phone_tail (the last 4 digits of the contact phone) is required")
    number, client, limits = request.match_info["number"], client_address(request), request.app[LIMITS]

    def work(session: Session) -> dict | None:
        ticket = lookup.check(session, number, tail, client, limits)
        return service.public_view(ticket) if ticket is not None else None

    try:
        view = await in_session(request, work)
    except lookup.Limited as exc:
        raise error(429, "too many status lookups; try again later", {"Retry-After": str(exc.retry_after)},
                    message=exc.message, retry_after=exc.retry_after) from None
    if view is None:  # unknown number and wrong tail look the same
        return web.json_response(NOT_FOUND, status=404)
    return web.json_response(view, dumps=dumps)


async def _seed_dev_token(app: web.Application) -> None:
    token = settings.get().staff_api_token
    if not token:
        return
    url = db_url(app)

    def job() -> bool:
        with session_scope(url) as session:
            return staff.seed(session, token)

    try:
        if await in_thread(job):
            log.info("seeded the development staff token from STAFF_API_TOKEN")
    except OperationalError as exc:  # tables not migrated yet: the API answers 401 until they are
        log.warning("could not seed STAFF_API_TOKEN: %s", exc)


def setup_routes(app: web.Application) -> None:
    app[LIMITS] = lookup.Limits()  # failed status lookups of this process
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

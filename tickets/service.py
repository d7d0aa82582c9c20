"""Creating, finding, moving and exporting tickets.  Callers pass an open session (`session_scope()`)."""

from __future__ import annotations

import csv
import hmac
import io
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from database import session_scope
from privacy import mask_phone, mask_text, phone_tail
from tickets import numbering, transitions, types, workdays
from tickets.models import CHANNELS, Ticket, TicketEvent, utcnow
from tickets.workdays import china_today

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    created: bool  # False: the idempotency key had already been used; this is the earlier ticket


def create_ticket(session: Session, ticket_type: str, channel: str, idempotency_key: str,
                  fields: dict[str, Any], received: date | None = None) -> Created:
    """Create a ticket exactly once per idempotency key (a unique constraint decides, not a prior read)."""
    types.get(ticket_type)  # raises ValueError for an unknown type
    if not idempotency_key:
        raise ValueError("an idempotency key is required")
    unknown = set(fields) - set(types.COLUMNS)
    if unknown:
        raise ValueError(f"unknown ticket fields: {sorted(unknown)}")
    existing = find_by_key(session, idempotency_key)
    if existing is not None:
        return Created(existing, False)
    received = received or china_today()
    due = workdays.due_date(ticket_type, received)
    now = utcnow()
    for _ in range(5):  # a number collision is astronomically rare; retry with a fresh suffix
        ticket = Ticket(number=numbering.new_number(ticket_type, received), type=ticket_type, status="submitted",
                        idempotency_key=idempotency_key, channel=channel if channel in CHANNELS else "other",
                        created_at=now, updated_at=now, due_date=due.date, due_date_exact=due.exact,
                        **{"anonymous": False, **fields})
        ticket.events.append(TicketEvent(at=now, kind="status", to_status="submitted", actor="applicant"))
        try:
            with session.begin_nested():
                session.add(ticket)
                session.flush()
        except IntegrityError:
            existing = find_by_key(session, idempotency_key)
            if existing is not None:
                return Created(existing, False)
            continue  # the number collided
        log.info("ticket %s created (%s, channel %s)", ticket.number, ticket_type, ticket.channel)
        return Created(ticket, True)
    raise RuntimeError("could not allocate a unique ticket number")


def same_request(ticket: Ticket, ticket_type: str, fields: dict[str, Any]) -> bool:
    """Whether `ticket` is what creating (`ticket_type`, `fields`) would have made (a replayed request)."""
    return ticket.type == ticket_type and all(getattr(ticket, k) == v for k, v in fields.items())


def find_by_key(session: Session, idempotency_key: str) -> Ticket | None:
    return session.execute(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).scalar_one_or_none()


def get(session: Session, number: str | None) -> Ticket | None:
    number = numbering.normalise(number)
    if number is None:
        return None
    return session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()


def lookup_public(session: Session, number: str | None, tail: str | None) -> Ticket | None:
    """The ticket if the number exists AND the phone tail matches; None otherwise (same answer either way).

    Anonymous tickets have no phone and are never found this way.
    """
    ticket = get(session, number)
    expected = phone_tail(ticket.phone) if ticket is not None and ticket.phone else "no-phone"
    given = (tail or "").strip()
    matches = hmac.compare_digest(expected.encode(), given.encode())
    return ticket if ticket is not None and matches and len(given) == 4 else None


def transition(session: Session, ticket: Ticket, target: str, actor: str, note: str | None = None,
               resolution: str | None = None) -> TicketEvent:
    transitions.check(ticket.status, target, note, resolution)
    now = utcnow()
    event = TicketEvent(at=now, kind="status", from_status=ticket.status, to_status=target,
                        note=(note or "").strip() or None, actor=actor)
    ticket.events.append(event)
    ticket.status = target
    ticket.updated_at = now
    if target in ("closed", "rejected", "answered"):
        ticket.closed_at = ticket.closed_at or now
    if resolution:
        ticket.resolution = resolution
    session.flush()
    log.info("ticket %s: %s -> %s by %s", ticket.number, event.from_status, target, actor)
    return event


def add_note(session: Session, ticket: Ticket, actor: str, note: str, kind: str = "note") -> TicketEvent:
    if kind == "note" and not note.strip():
        raise ValueError("the note is empty")
    event = TicketEvent(at=utcnow(), kind=kind, note=note.strip() or None, actor=actor)
    ticket.events.append(event)
    ticket.updated_at = event.at
    session.flush()
    return event


def extend_due(session: Session, ticket: Ticket, actor: str, note: str) -> TicketEvent:
    """Extend an open ticket's due date once by the configured extension (a reason is required)."""
    rule = workdays.deadline(ticket.type)
    if ticket.status not in transitions.OPEN_STATUSES:
        raise transitions.TransitionError(f"a {ticket.status} ticket cannot be extended")
    if not types.get(ticket.type).extension or not rule.extension_working_days:
        raise transitions.TransitionError(f"{ticket.type} tickets have no extension")
    if any(e.kind == "extension" for e in ticket.events):
        raise transitions.TransitionError("the due date was already extended once")
    if not (note or "").strip():
        raise transitions.TransitionError("a note (the reason for the extension) is required")
    due = workdays.add_working_days(ticket.due_date, rule.extension_working_days)
    event = add_note(session, ticket, actor, f"{note.strip()}（期限由 {ticket.due_date} 延长至 {due.date}）",
                     kind="extension")
    ticket.due_date, ticket.due_date_exact = due.date, ticket.due_date_exact and due.exact
    session.flush()
    return event


def is_overdue(ticket: Ticket, today: date | None = None) -> bool:
    return (ticket.status in transitions.OPEN_STATUSES and ticket.due_date is not None
            and ticket.due_date < (today or china_today()))


# How the staff list may be ordered: `key` ascending, `-key` descending (GET /api/tickets?sort=-due_date).  Status
# follows the workflow (transitions.STATUSES); tickets without a due date come last either way; ties: newest first.
SORT_KEYS = {
    "created_at": Ticket.created_at, "updated_at": Ticket.updated_at, "due_date": Ticket.due_date,
    "due_at": Ticket.due_date,  # alias of due_date
    "status": case({s: i for i, s in enumerate(transitions.STATUSES)}, value=Ticket.status),
    "type": Ticket.type, "department": Ticket.department, "number": Ticket.number,
}
SORTS = tuple(f"{sign}{key}" for key in SORT_KEYS for sign in ("", "-"))
DEFAULT_SORT = "-created_at"


def list_tickets(session: Session, *, type: str | None = None, status: str | None = None,
                 department: str | None = None, overdue: bool | None = None, page: int = 1,
                 per_page: int = 20, today: date | None = None, sort: str = DEFAULT_SORT) -> tuple[list[Ticket], int]:
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    column = SORT_KEYS[sort.lstrip("-")]
    query = select(Ticket)
    if type:
        query = query.where(Ticket.type == type)
    if status:
        query = query.where(Ticket.status == status)
    if department:
        query = query.where(Ticket.department == department)
    if overdue is not None:
        today = today or china_today()
        late = Ticket.status.in_(transitions.OPEN_STATUSES) & (Ticket.due_date < today)
        query = query.where(late if overdue else ~late)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(column.is_(None), column.desc() if sort.startswith("-") else column.asc(),
                                          Ticket.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return list(rows), total


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value.isoformat()


def history(ticket: Ticket, public: bool) -> list[dict]:
    """Status history; the public view shows status changes only, with the reason for the final ones."""
    rows = []
    for event in ticket.events:
        if public and event.kind not in ("status", "extension"):
            continue
        row = {"at": _iso(event.at), "kind": event.kind, "from": event.from_status, "to": event.to_status,
               "label": "延期" if event.kind == "extension" else transitions.LABELS.get(event.to_status or "", "")}
        if not public:
            row.update(note=event.note, actor=event.actor)
        elif (event.to_status in ("rejected", "answered", "closed") or event.kind == "extension") and event.note:
            row["note"] = event.note
        rows.append(row)
    return rows


def public_view(ticket: Ticket) -> dict:
    return {"number": ticket.number, "type": ticket.type, "status": ticket.status,
            "status_label": transitions.LABELS[ticket.status], "created_at": _iso(ticket.created_at),
            "due_date": _iso(ticket.due_date), "due_date_estimate": not workdays.deadline(ticket.type).settled,
            "due_date_exact_calendar": ticket.due_date_exact, "department": ticket.department,
            "history": history(ticket, public=True)}


def staff_view(ticket: Ticket, reveal_contact: bool = False) -> dict:
    view = public_view(ticket)
    view.update(
        idempotency_key=None, channel=ticket.channel, dataset_id=ticket.dataset_id,
        requested_data=ticket.requested_data, purpose=ticket.purpose, applicant_type=ticket.applicant_type,
        applicant_name=ticket.applicant_name, category=ticket.category,
        description=ticket.description if reveal_contact else mask_text(ticket.description or "") or None,
        contact_name=ticket.contact_name, best_time=ticket.best_time,
        question=ticket.question if reveal_contact else mask_text(ticket.question or "") or None,
        anonymous=ticket.anonymous, phone=ticket.phone if reveal_contact else mask_phone(ticket.phone),
        email=ticket.email if reveal_contact else (_mask_email(ticket.email) if ticket.email else None),
        overdue=is_overdue(ticket), resolution=ticket.resolution, closed_at=_iso(ticket.closed_at),
        updated_at=_iso(ticket.updated_at), history=history(ticket, public=False),
    )
    view.pop("idempotency_key")
    return view


def _mask_email(email: str) -> str:
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}"


EXPORT_COLUMNS = ("number", "type", "status", "channel", "department", "dataset_id", "requested_data",
                  "applicant_type", "category", "anonymous", "created_at", "due_date", "overdue", "closed_at",
                  "resolution")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that Excel/WPS will not run as a formula: text starting with = + - @ tab or CR gets a "'"."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv(out: io.StringIO, header: Any, rows: Any) -> None:
    """`header` and `rows` as CSV into `out`, every cell neutralised (`csv_cell`): every CSV the service writes."""
    writer = csv.writer(out)
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)


def export_csv(tickets: list[Ticket]) -> str:
    """CSV of tickets without personal data (no names, phones, e-mails or free-text descriptions)."""
    out = io.StringIO()
    write_csv(out, EXPORT_COLUMNS, ([t.number, t.type, t.status, t.channel, t.department or "", t.dataset_id or "",
                                     mask_text(t.requested_data or ""), t.applicant_type or "", t.category or "",
                                     int(bool(t.anonymous)), _iso(t.created_at), _iso(t.due_date),
                                     int(is_overdue(t)), _iso(t.closed_at) or "", t.resolution or ""]
                                    for t in tickets))
    return out.getvalue()


@dataclass(frozen=True)
class Receipt:
    """What the caller needs after a submission, detached from the session."""

    number: str
    type: str
    created: bool
    due_date: date
    due_date_exact: bool
    phone: str | None
    anonymous: bool


def submit(db_url: str | None, ticket_type: str, channel: str, idempotency_key: str,
           fields: dict[str, Any], attempts: int = 5) -> Receipt:
    """`create_ticket` in its own transaction, retried when a concurrent writer got there first.

    On SQLite a writer whose snapshot is stale gets "database is locked" rather than waiting; the retry then
    sees the committed ticket with the same idempotency key and returns it.
    """
    for attempt in range(attempts):
        try:
            with session_scope(db_url) as session:
                result = create_ticket(session, ticket_type, channel, idempotency_key, fields)
                t = result.ticket
                return Receipt(t.number, t.type, result.created, t.due_date, t.due_date_exact, t.phone, t.anonymous)
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")

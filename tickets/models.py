"""Ticket tables on the shared `Base` (Alembic revisions 0002_tickets, 0009_callback).

Field names borrow from Open311 GeoReport v2 (status, agency_responsible, requested/expected datetimes) and
ckanext-datarequests (accepted dataset, close time, closing circumstance).  `SearchMiss` holds searches that
found nothing, for the demand report; it never stores personal data.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from database import Base

CHANNELS = ("web", "wechat", "rest", "api", "other")  # where a ticket or a search came from
INPUT_CHANNELS = {"socketio": "web", "rest": "rest", "wechat": "wechat"}  # Rasa input channel → CHANNELS
STAFF_ROLES = ("agent", "reader")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    type = Column(String(16), nullable=False, index=True)
    status = Column(String(16), nullable=False, index=True, default="submitted")
    idempotency_key = Column(String(128), nullable=False, unique=True)
    channel = Column(String(16), nullable=False)
    # what is asked for: a catalogue dataset, or free text for data not in the catalogue
    dataset_id = Column(String(64), nullable=True, index=True)
    requested_data = Column(Text, nullable=True)
    purpose = Column(Text, nullable=True)
    applicant_type = Column(String(8), nullable=True)
    applicant_name = Column(String(200), nullable=True)
    # complaint
    category = Column(String(16), nullable=True)
    description = Column(Text, nullable=True)
    # callback request (回电预约): how to address the caller, when to call, what it is about
    contact_name = Column(String(100), nullable=True)
    best_time = Column(String(200), nullable=True)
    question = Column(Text, nullable=True)
    # contact (personal data: never in logs, exports or reports; replies show it masked)
    phone = Column(String(32), nullable=True)
    email = Column(String(200), nullable=True)
    anonymous = Column(Boolean, nullable=False, default=False)
    department = Column(String(200), nullable=True, index=True)  # responsible department (full name)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    due_date = Column(Date, nullable=True, index=True)
    due_date_exact = Column(Boolean, nullable=False, default=True)  # False: fell back to weekends only
    closed_at = Column(DateTime, nullable=True)
    resolution = Column(String(32), nullable=True)  # closing circumstance (see transitions.RESOLUTIONS)

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id",
                          cascade="all, delete-orphan", passive_deletes=True)


class TicketEvent(Base):
    """One line of a ticket's history: a status change, a staff note or an audited look at the contact."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    kind = Column(String(16), nullable=False)  # status | note | extension | contact_viewed
    from_status = Column(String(16), nullable=True)
    to_status = Column(String(16), nullable=True)
    note = Column(Text, nullable=True)
    actor = Column(String(100), nullable=False)  # "applicant", "system" or the staff token's name

    ticket = relationship("Ticket", back_populates="events")


class StaffToken(Base):
    __tablename__ = "staff_tokens"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)  # the staff identity recorded on transitions
    role = Column(String(16), nullable=False, default="agent")
    token_hash = Column(String(64), nullable=False, unique=True)  # sha256 hex of the secret
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime, nullable=True)


class SearchMiss(Base):
    """A catalogue search that found nothing: normalised query text and filters only, no personal data."""

    __tablename__ = "search_misses"

    id = Column(Integer, primary_key=True)
    query = Column(String(200), nullable=False, index=True)
    filters = Column(JSON, nullable=False, default=dict)
    channel = Column(String(16), nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)

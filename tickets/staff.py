"""Staff API tokens: random secrets shown once, stored as SHA-256 hashes, revocable.

`STAFF_API_TOKEN` (settings) seeds one development token named "dev (STAFF_API_TOKEN)".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import STAFF_ROLES, StaffToken, utcnow

PREFIX = "zsst_"
SEED_NAME = "dev (STAFF_API_TOKEN)"


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, name: str, role: str = "agent", token: str | None = None) -> tuple[StaffToken, str]:
    """Create a token for the staff member `name`; returns the row and the secret (shown only once)."""
    if not name.strip():
        raise ValueError("a staff name is required")
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {STAFF_ROLES}")
    secret = token or PREFIX + secrets.token_urlsafe(32)
    row = StaffToken(name=name.strip(), role=role, token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    return row, secret


def revoke(session: Session, token_id: int) -> bool:
    row = session.get(StaffToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def verify(session: Session, token: str | None) -> Staff | None:
    """The staff member holding `token`, or None if it is unknown or revoked."""
    if not token:
        return None
    row = session.execute(select(StaffToken).where(StaffToken.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return Staff(row.id, row.name, row.role)


def seed(session: Session, token: str) -> bool:
    """Make sure the development token `token` exists (never re-activates a revoked one).  True if created."""
    if not token:
        return False
    exists = session.execute(select(StaffToken.id).where(StaffToken.token_hash == hash_token(token))).first()
    if exists:
        return False
    create(session, SEED_NAME, "agent", token=token)
    return True


def list_tokens(session: Session) -> list[StaffToken]:
    return list(session.execute(select(StaffToken).order_by(StaffToken.id)).scalars())

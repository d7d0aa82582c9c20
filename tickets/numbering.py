"""Readable ticket numbers that cannot be guessed from one another: the type's prefix + date + random suffix.

The suffix is 6 characters from a 31-symbol alphabet without look-alikes (0/O, 1/I/L), drawn with `secrets`:
about 8.9e8 possibilities per type and day.  Users may type them in lower case and without the dash.
"""

from __future__ import annotations

import re
import secrets
from datetime import date

from tickets import types

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SUFFIX_LEN = 6
PATTERN = re.compile(rf"({'|'.join(t.prefix for t in types.TYPES.values())})-?(\d{{8}})-?([0-9A-Z]{{6}})",
                     re.IGNORECASE)


def new_number(ticket_type: str, day: date) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LEN))
    return f"{types.get(ticket_type).prefix}{day:%Y%m%d}-{suffix}"


def normalise(text: str | None) -> str | None:
    """The canonical number found in `text` (SQ20261127-7K3M9Q), or None."""
    if not text:
        return None
    match = PATTERN.search(text.replace(" ", ""))
    if not match:
        return None
    prefix, day, suffix = match.groups()
    return f"{prefix.upper()}{day}-{suffix.upper()}"

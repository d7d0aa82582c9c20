"""A button payload ("/intent" or "/intent{...json...}"): what a button, a WeChat menu click or a numbered option
sends.  It carries an intent (and entities), never the user's own words, so no slot or query is taken from it."""

from __future__ import annotations

import re

PAYLOAD = re.compile(r"/[A-Za-z_][\w/]*(\{.*\})?", re.S)


def is_payload(text: str | None) -> bool:
    return bool(PAYLOAD.fullmatch((text or "").strip()))

"""The menu table points at intents the assistant knows, and every entry can be offered as an option."""

from __future__ import annotations

import yaml

import settings
from bot.channels.wechat import MENU_FILE


def test_menu_intents_exist_in_the_domain():
    menu = yaml.safe_load(MENU_FILE.read_text(encoding="utf-8"))
    intents = set()
    for part in sorted((settings.ROOT / "domain").glob("*.yml")):
        for intent in yaml.safe_load(part.read_text(encoding="utf-8")).get("intents", []):
            intents.add(intent if isinstance(intent, str) else next(iter(intent)))
    entries = menu["menu"]
    assert entries["COMPLAINT"]["intent"] == "file_complaint"
    assert {entry["intent"] for entry in entries.values()} <= intents
    assert all(entry["title"].strip() for entry in entries.values())
    assert menu["welcome"].strip()

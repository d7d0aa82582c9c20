"""Phone numbers leave the conversation record once no form needs them; retention deletes old conversations.

The real store class on a real SQLite file, fed with real Rasa trackers (the events a complaint form produces)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

import settings
from bot.tracker_store import PrivacySQLTrackerStore
from tests.security.conftest import MASKED, PHONE

DOMAIN = Domain.from_directory(str(settings.ROOT / "domain"))
DESCRIPTION = f"公交数据每天都不更新，打我电话{PHONE}，或者＋８６ {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"


def store_at(path: Path) -> PrivacySQLTrackerStore:
    return PrivacySQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


def raw_rows(path: Path, sender: str | None = None) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? OR ? IS NULL", (sender, sender)).fetchall()
    return "\n".join(data for (data,) in rows)


def user(text: str, intent: str = "inform", entities: list | None = None) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9}, entities or [],
                       metadata={"full_text": text})


def form_turns(sender: str, *, finish: bool) -> list[list]:
    """A complaint form: the description with a phone, then the phone as an entity; submitted or not."""
    entity = {"entity": "phone", "value": PHONE, "start": 0, "end": 11}
    turns = [
        [user("我要投诉", "file_complaint"), ActionExecuted("complaint_form"), ActiveLoop("complaint_form"),
         SlotSet("requested_slot", "complaint_description"), BotUttered("请具体说说发生了什么"), ActionExecuted("action_listen")],
        [user(DESCRIPTION), ActionExecuted("complaint_form"), SlotSet("complaint_description", DESCRIPTION),
         SlotSet("requested_slot", "phone"), ActionExecuted("action_listen")],
        [user(PHONE, entities=[entity]), ActionExecuted("complaint_form"), SlotSet("phone", PHONE),
         SlotSet("requested_slot", "confirm_submit"), BotUttered(f"联系电话：{PHONE}，确认提交吗？"),
         ActionExecuted("action_listen")],
    ]
    if finish:
        turns.append([user("确认", "affirm"), ActionExecuted("complaint_form"), SlotSet("requested_slot", None),
                      ActiveLoop(None), ActionExecuted("action_submit_complaint"),
                      BotUttered(f"已提交，我们会打 {MASKED} 联系您"), SlotSet("phone", None),
                      SlotSet("complaint_description", None), ActionExecuted("action_listen")])
    return turns


def play(store: PrivacySQLTrackerStore, sender: str, turns: list[list]) -> list[str]:
    """Save after every turn, as Rasa does; what the store held after each turn."""
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    seen = []
    for events in turns:
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))
        tracker = asyncio.run(store.retrieve(sender))  # the next turn starts from the store, as in Rasa
        seen.append(raw_rows(Path(store.engine.url.database), sender))
    return seen


def test_phones_stay_while_the_form_runs_and_go_when_it_is_submitted(tmp_path):
    store = store_at(tmp_path / "tracker.db")
    seen = play(store, "citizen", form_turns("citizen", finish=True))
    assert PHONE in seen[2]  # the form still needs it (the submit action reads the slot)
    assert asyncio.run(store.retrieve("citizen")).get_slot("phone") is None
    final = seen[-1]
    assert PHONE not in final and f"{PHONE[3:7]} {PHONE[7:]}" not in final and "\\uff18\\uff16" not in final
    assert MASKED in final and "\\u516c\\u4ea4" in final  # the rest of the text is kept


def test_a_form_started_by_a_message_with_a_phone_ends_masked_and_masks_only_its_own_turns(tmp_path, monkeypatch):
    store = store_at(tmp_path / "tracker.db")
    chat = [[user("你好", "greet"), BotUttered("您好"), ActionExecuted("action_listen")] for _ in range(5)]
    first = user(f"我要投诉，手机{PHONE}", "file_complaint")  # the phone arrives with the form's first turn
    turns = form_turns("caller", finish=True)
    turns[0][0] = first  # (events are built in conversation order: timestamps grow as in Rasa)
    touched = []
    redact_rows = PrivacySQLTrackerStore._redact_conversations

    def counting(self, session, sender_ids, since=None):  # noqa: ANN001, ANN202
        before = session.query(self.SQLEvent).filter(self.SQLEvent.timestamp >= (since or 0)).count()
        touched.append(before)
        return redact_rows(self, session, sender_ids, since)

    monkeypatch.setattr(PrivacySQLTrackerStore, "_redact_conversations", counting)
    final = play(store, "caller", chat + turns)[-1]
    assert PHONE not in final and MASKED in final
    total = len(final.splitlines())
    assert touched and touched[-1] == total - 5 * 3  # the five greetings before the form were not read again


def test_the_form_reads_its_phone_back_from_the_store_while_active(tmp_path):
    store = store_at(tmp_path / "tracker.db")
    play(store, "mid-form", form_turns("mid-form", finish=False))
    assert asyncio.run(store.retrieve("mid-form")).get_slot("phone") == PHONE


def test_a_phone_given_outside_a_form_is_masked_at_once(tmp_path):
    store = store_at(tmp_path / "tracker.db")
    play(store, "loose", [[user(f"我的号码是{PHONE}"), ActionExecuted("action_default_fallback"),
                           ActionExecuted("action_listen")]])
    assert PHONE not in raw_rows(tmp_path / "tracker.db") and MASKED in raw_rows(tmp_path / "tracker.db")


def test_retention_cli_masks_abandoned_forms_and_deletes_old_conversations(tmp_path):
    path = tmp_path / "tracker.db"
    store = store_at(path)
    play(store, "abandoned", form_turns("abandoned", finish=False))
    play(store, "old", [[user("你好", "greet"), ActionExecuted("action_listen")]])
    play(store, "recent", form_turns("recent", finish=False))
    hour, day = 3600, 86400
    with sqlite3.connect(path) as db:  # age the conversations
        db.execute("UPDATE events SET timestamp = timestamp - ? WHERE sender_id = 'abandoned'", (3 * hour,))
        db.execute("UPDATE events SET timestamp = timestamp - ? WHERE sender_id = 'old'", (400 * day,))
    env = {**os.environ, "TRACKER_DB": str(path), "TRACKER_RETENTION_DAYS": "180",
           "TRACKER_REDACT_IDLE_MINUTES": "120", "PYTHONPATH": str(settings.ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot.tracker_store", "retention"], env=env, cwd=settings.ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "deleted 1 conversation(s)" in done.stdout
    assert raw_rows(path, "old") == ""
    assert PHONE not in raw_rows(path, "abandoned") and MASKED in raw_rows(path, "abandoned")
    assert PHONE in raw_rows(path, "recent")  # its form may still be answered


def test_rasa_loads_this_store_from_endpoints_yml(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTIONS_URL", "http://127.0.0.1:9/webhook")
    config = read_endpoint_config(str(settings.ROOT / "endpoints.yml"), "tracker_store")
    store = TrackerStore.create(config, DOMAIN)  # Rasa's own loader, as `rasa run` uses it
    assert isinstance(store, PrivacySQLTrackerStore)
    assert Path(store.engine.url.database) == tmp_path / "tracker.db"

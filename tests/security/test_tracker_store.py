"""Phone numbers leave the conversation record once no form needs them; retention deletes old conversations; the
tracker cache in front of the SQL store never serves what the database no longer holds.

The real store class on a real SQLite file, fed with real Rasa trackers (the events a complaint form produces).
The cache tests run on PostgreSQL too with DB_BACKEND=postgres (`make pytest-postgres`)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url

import privacy
import settings
from bot.tracker_store import PrivacySQLTrackerStore, redact
from tests.harness import database_url
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


# -- the tracker cache (bot/tracker_store/cache.py) ----------------------------------------------------------------
def store_for(url: str, cache: int, monkeypatch) -> PrivacySQLTrackerStore:  # noqa: ANN001
    """A store on `url` (SQLite file or PostgreSQL database) with a cache of `cache` conversations (0: none); each
    instance is what one Rasa process holds."""
    monkeypatch.setenv("TRACKER_CACHE_CONVERSATIONS", str(cache))
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        return PrivacySQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=parts.database)
    return PrivacySQLTrackerStore(domain=DOMAIN, dialect="postgresql", host=parts.host, port=parts.port,
                                  db=parts.database, username=parts.username)


def events_of(store: PrivacySQLTrackerStore, sender: str) -> list[dict]:
    tracker = asyncio.run(store.retrieve(sender))
    return [event.as_dict() for event in tracker.events] if tracker else []


def turns_from_store(store: PrivacySQLTrackerStore, sender: str, turns: list[list]) -> None:
    """Each turn as Rasa plays it: the tracker from the store, the turn's events, saved."""
    for events in turns:
        tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))


def greeting() -> list:
    return [user("你好", "greet"), BotUttered("您好"), ActionExecuted("action_listen")]


def test_the_cached_store_serves_exactly_what_sql_holds_turn_by_turn_masking_included(tmp_path, monkeypatch):
    url = database_url(tmp_path, "tracker.db")
    cached, plain = store_for(url, 100, monkeypatch), store_for(url, 0, monkeypatch)
    turns = [greeting(), greeting(), *form_turns("c", finish=True), greeting()]
    for number, events in enumerate(turns):
        turns_from_store(cached, "c", [events])
        assert events_of(cached, "c") == events_of(plain, "c"), f"after turn {number + 1}"
    assert cached.cache.hits >= len(turns) - 2  # turns after the first were served from memory
    served = str(events_of(cached, "c"))
    assert PHONE not in served and MASKED in served  # the submitted form's phone is masked in memory too


def test_a_new_conversation_and_new_sessions_are_served_from_memory_as_sql_returns_them(tmp_path, monkeypatch):
    """Rasa opens every conversation, and every session after a long pause, with a session start: the SQL store
    then returns only the latest session (events from its start's timestamp on), and so must the cache."""
    def new_session() -> list:
        return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]

    url = database_url(tmp_path, "tracker.db")
    cached, plain = store_for(url, 100, monkeypatch), store_for(url, 0, monkeypatch)
    turns = [new_session() + greeting(), greeting(), new_session() + greeting(), greeting()]
    for number, events in enumerate(turns):
        turns_from_store(cached, "s", [events])
        assert events_of(cached, "s") == events_of(plain, "s"), f"after turn {number + 1}"
    assert len(events_of(plain, "s")) < sum(map(len, turns))  # the first session is no longer returned
    assert cached.cache.misses == 1  # the first look-up of a conversation not stored yet; every other from memory


def test_events_another_process_wrote_are_never_served_stale(tmp_path, monkeypatch):
    """A conversation moves to another Rasa process (failover) and back: the first process's cache is stale."""
    url = database_url(tmp_path, "tracker.db")
    first, second, plain = (store_for(url, n, monkeypatch) for n in (100, 100, 0))
    turns_from_store(first, "moved", [greeting(), greeting()])
    assert events_of(first, "moved") == events_of(plain, "moved") and first.cache.peek("moved")
    turns_from_store(second, "moved", [greeting(), [user("共享和开放有什么区别", "ask_measures"),
                                                    BotUttered("共享是部门之间"), ActionExecuted("action_listen")]])
    assert events_of(first, "moved") == events_of(plain, "moved")  # back on the first: B's turns are there
    turns_from_store(first, "moved", [greeting()])
    stored = events_of(plain, "moved")
    assert stored == events_of(first, "moved") and len(stored) == len(events_of(second, "moved"))
    assert [e.get("text") for e in stored if e["event"] == "user"] == ["你好"] * 3 + ["共享和开放有什么区别", "你好"]


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(tmp_path, monkeypatch):
    url = database_url(tmp_path, "tracker.db")
    cached, plain = store_for(url, 2, monkeypatch), store_for(url, 0, monkeypatch)
    for sender in ("a", "b", "c"):
        turns_from_store(cached, sender, [greeting(), greeting()])
    events_of(cached, "b")  # b is used again: a is the least recently used one
    events_of(cached, "c")
    assert list(cached.cache.entries) == ["b", "c"]
    assert events_of(cached, "a") == events_of(plain, "a")  # evicted: read from SQL again
    assert list(cached.cache.entries) == ["c", "a"]


def test_a_conversation_masked_in_place_by_retention_elsewhere_is_read_again(tmp_path, monkeypatch):
    """Retention (`make retention`, another process) masks idle conversations in place; that changes no row count,
    so a cached conversation idle that long is never served from memory."""
    url = database_url(tmp_path, "tracker.db")
    cached, retention = store_for(url, 100, monkeypatch), store_for(url, 0, monkeypatch)
    turns_from_store(cached, "idle", form_turns("idle", finish=False))
    assert asyncio.run(cached.retrieve("idle")).get_slot("phone") == PHONE  # mid-form: the form needs it
    hours = 3 * 3600  # the conversation has been idle 3 hours (TRACKER_REDACT_IDLE_MINUTES: 120)
    with cached.engine.begin() as conn:
        conn.execute(sql("UPDATE events SET timestamp = timestamp - :d WHERE sender_id = 'idle'"), {"d": hours})
    cached.cache.peek("idle").last_timestamp -= hours
    report = retention.apply_retention(retention_days=180, redact_idle_minutes=120)
    assert report.events_redacted > 0
    assert asyncio.run(cached.retrieve("idle")).get_slot("phone") == MASKED


def test_redact_leaves_a_string_as_it_is_only_when_masking_would_not_change_it():
    event = {"event": "user", "text": f"我的电话{PHONE}，第１名", "parse_data": {
        "intent": {"name": "provide_phone", "confidence": 0.13812341234},
        "entities": [{"value": "０８５１－８６８６１２３４"}, {"value": "\\uff11\\uff13800000000"}],
        "intent_ranking": [{"name": "greet"}, {"name": "ask_10086"}, {"name": "＋86"}]}}

    def mask_every_string(value):  # noqa: ANN001, ANN202 — privacy.mask_text on every string, no shortcut
        if isinstance(value, str):
            return privacy.mask_text(value)
        if isinstance(value, dict):
            return {key: mask_every_string(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mask_every_string(item) for item in value]
        return value

    assert redact(event) == mask_every_string(event)
    assert PHONE not in str(redact(event)) and "第1名" in redact(event)["text"]

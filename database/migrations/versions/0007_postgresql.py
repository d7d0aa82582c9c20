"""PostgreSQL: the catalogue's full-text columns and its version triggers (SQLite: no-op).

Revision ID: 0007_postgresql
Revises: 0006_dataset_vectors
Create Date: 2026-11-29

On SQLite the search index is FTS5 (0001, 0005) and triggers raise `catalog_version` (0004, 0006); nothing changes
there.  On PostgreSQL:

- `search_docs.tsv`: stored generated `to_tsvector('simple', …)` over the pre-segmented text columns (title,
  keywords, department, description, fields), and `search_docs.fuzzy_tsv` over the pinyin column, each with a
  GIN index.  'simple' keeps our jieba tokens as they are (no stemming, no stop words); the two columns stand
  for FTS5's column filters (`{title keywords department description fields} : …` and `fuzzy : …`), so the
  search's match list is `tsv @@ to_tsquery('simple', …)`.  Ranking stays on the in-memory snapshot.
- `catalog_version`: one statement-level trigger per watched table and event, doing 0004's UPDATE (the search
  keys its per-process snapshot on the version).
"""

from __future__ import annotations

from alembic import op

revision = "0007_postgresql"
down_revision = "0006_dataset_vectors"
branch_labels = None
depends_on = None

TEXT_COLUMNS = ("title", "keywords", "department", "description", "fields")
WATCHED = {  # as in 0004_search_speed and 0006_dataset_vectors
    "departments": ("INSERT", "UPDATE", "DELETE"),
    "dataset_vectors": ("INSERT", "UPDATE", "DELETE"),
    "search_docs": ("INSERT", "UPDATE", "DELETE"),
    "datasets": ("UPDATE", "DELETE"),
    "dataset_formats": ("UPDATE", "DELETE"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    text = " || ' ' || ".join(TEXT_COLUMNS)
    op.execute(f"ALTER TABLE search_docs ADD COLUMN tsv tsvector "
               f"GENERATED ALWAYS AS (to_tsvector('simple', {text})) STORED")
    op.execute("ALTER TABLE search_docs ADD COLUMN fuzzy_tsv tsvector "
               "GENERATED ALWAYS AS (to_tsvector('simple', fuzzy)) STORED")
    op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
    op.execute("CREATE INDEX ix_search_docs_fuzzy_tsv ON search_docs USING gin (fuzzy_tsv)")
    op.execute("CREATE FUNCTION raise_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "UPDATE catalog_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$")
    for table, events in WATCHED.items():
        for event in events:
            op.execute(f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION raise_catalog_version()")


def downgrade() -> None:
    raise NotImplementedError("migrations never drop data; restore from a backup instead")

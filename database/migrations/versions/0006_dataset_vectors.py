"""Dataset vectors: one sentence embedding per dataset for semantic search (`catalog_index.vectors`).

Revision ID: 0006_dataset_vectors
Revises: 0005_lean_fts
Create Date: 2026-11-29

`dataset_vectors` is keyed by dataset id (deleted with its dataset) and holds the embedder's name, the sha1 of
the encoded text (a changed text or model is re-encoded) and the vector as int8 codes with a float32 scale.
Like every other catalogue table its writes raise `catalog_version` (0004_search_speed), so the per-process
search snapshot that holds the vectors is rebuilt when they change.  Existing databases get an empty table:
the next `python -m catalog_index load` (e.g. `make db`) or `python -m catalog_index embed` fills it.
Adds a table and triggers only; no data is changed or dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_dataset_vectors"
down_revision = "0005_lean_fts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_vectors",
        sa.Column("dataset_id", sa.String(64), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("text_hash", sa.String(40), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL would use one statement-level trigger per event, as in 0004_search_speed
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER dataset_vectors_version_{event.lower()} AFTER {event} ON dataset_vectors "
                   "BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END")


def downgrade() -> None:
    raise NotImplementedError("migrations never drop data; restore from a backup instead")

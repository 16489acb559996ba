"""Corrections of several stages at once: the id shared by their entries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- ``ledger_entries.correction_id``: NULL for every entry that is not part of a correction of several stages;
  otherwise the id shared by the entries recorded together (all or none) as one correction. It enters the
  entry's content hash only when set, so every existing chain stays valid.

Additive; forward-only like the others.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("correction_id", sa.String(64), nullable=True))
    op.create_index("ix_ledger_entries_correction", "ledger_entries", ["election_id", "correction_id"])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision to undo a change")

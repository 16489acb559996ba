"""Photos found by when they came (issue 15: national size).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08

The release page asks which precincts sent a worksheet photo since shortly before the last release. Without an
index on ``received_at`` SQLite walked every photo of the election, and since a photo's bytes are stored before
its ``received_at``, it read every photo's bytes to answer (123 ms at 8,700 photos in the national-size
rehearsal, growing with the night). Index ``(election_id, received_at)``.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_photos_election_id_received_at", "photos", ["election_id", "received_at"])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

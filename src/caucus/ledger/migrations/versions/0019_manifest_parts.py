"""The parts of release manifests (issue 15: chained manifests).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08

``manifest_parts``: per election, the text of each manifest part (``manifest/<k>.json``, docs/feed.md) by its
sha256. A release made since lists its files in parts; its ``releases.manifest`` holds the top manifest, which
names the parts by sha256. Releases made before keep their flat manifests: nothing to fill.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "manifest_parts",
        sa.Column("election_id", sa.Integer(), sa.ForeignKey("elections.id"), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False))


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

"""The chair roster: each precinct's registered chair (name, phone, email), for HQ only.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-25

``chair_roster``: at most one row per precinct (``caucus chairs import`` or HQ's Chairs page write it; every
change is in the audit log). Never public, never in a release. Rows are changed in place and removed when a
chair is taken off the roster: unlike the ledger, this is contact data, not a record of the night.

Additive only. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chair_roster",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chair_roster")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_chair_roster_election_id_elections")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"], name=op.f("fk_chair_roster_precinct_id_precincts")),
        sa.UniqueConstraint("precinct_id", name=op.f("uq_chair_roster_precinct_id")),
    )
    op.create_index(op.f("ix_chair_roster_election_id"), "chair_roster", ["election_id"])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

"""Nevada early ranked ballots (RULES.md NV-2, NV-3.2, NV-3.4), imported before the night.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-07

``early_ballots``: one row per early ballot of the party's early-vote export (``caucus early-ballots import``):
its precinct, the export's ballot id (unique in the election), the ranks as imported (a JSON list, in rank
order) and whether NV-2 voids it (fewer than 3 different preferences). Rows are only ever added, and only
while the precinct has reported nothing (docs/early-ballots.md); every import is in the audit log.

Additive only. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "early_ballots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("ballot_id", sa.String(64), nullable=False),
        sa.Column("ranks", sa.Text(), nullable=False),
        sa.Column("void", sa.Boolean(), nullable=False),
        sa.Column("imported_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_ballots")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_early_ballots_election_id_elections")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"],
                                name=op.f("fk_early_ballots_precinct_id_precincts")),
        sa.UniqueConstraint("election_id", "ballot_id", name=op.f("uq_early_ballots_election_id_ballot_id")),
    )
    op.create_index(op.f("ix_early_ballots_precinct_id"), "early_ballots", ["precinct_id"])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

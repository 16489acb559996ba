"""Each precinct's derived status, maintained with the ledger (issue 15).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

``precinct_status``: one row per precinct that has entries counting in the current epoch, with the status
derived from them and from the review decisions (``caucus.service.status``): its state, why it is in the
review queue (and the queue's order), its county (copied, for counts without a join), the reasons shown to HQ,
its newest entry and when its first and last entries arrived. A precinct without a row has nothing that counts
(``not-reported``). The row is written in the same transaction as what changes it (the ledger writer's append,
a review decision, a go-live or a rehearsal reset); ``state`` NULL marks a row a writer without the service's
derivation left to be derived on read. It is derived data: ``caucus state rebuild`` rewrites it from the
ledger, ``caucus state check`` and ``caucus verify`` compare it with the ledger. Nothing here counts on its
own: no trigger, no append-only rule.

``status_counts``: how many rows each county has in each state, and how many precincts first reported in each
quarter hour, kept with the rows (the night page reads these few thousand counts).

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "precinct_status",
        sa.Column("precinct_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("county", sa.String(100), nullable=True),
        sa.Column("queue_rank", sa.Integer(), nullable=True),
        sa.Column("why", sa.String(100), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("first_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("last_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("first_quarter", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("precinct_id", name=op.f("pk_precinct_status")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"],
                                name=op.f("fk_precinct_status_precinct_id_precincts")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_precinct_status_election_id_elections")),
    )
    op.create_index("ix_precinct_status_queue", "precinct_status", ["election_id", "queue_rank", "last_seq"])
    op.create_index("ix_precinct_status_state", "precinct_status", ["election_id", "state", "last_at"])
    op.create_index("ix_precinct_status_first", "precinct_status", ["election_id", "first_quarter"])
    op.create_index("ix_precinct_status_county", "precinct_status", ["election_id", "county", "state"])
    op.create_table(
        "status_counts",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("election_id", "kind", "key", "state", name=op.f("pk_status_counts")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_status_counts_election_id_elections")),
    )
    # a database with entries already: every precinct with entries gets a stale row, derived on read until the
    # server's start-up (or ``caucus state rebuild``) derives it
    op.execute("INSERT INTO precinct_status (precinct_id, election_id, state, why, reasons) "
               "SELECT DISTINCT precinct_id, election_id, NULL, '', '[]' FROM ledger_entries")


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

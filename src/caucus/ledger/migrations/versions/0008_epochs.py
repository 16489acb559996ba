"""Epochs: going live after a rehearsal, and resetting a rehearsal, without deleting anything.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

``election_epochs``: one row per ``caucus election go-live`` or ``reset-rehearsal`` (append-only, like the
ledger). Each row draws a line through the election's records as they stood at that moment: ledger entries
with ``seq <= counts_after_seq`` (and the review decisions made on them) never count again; photos,
messages to chairs, recanvass requests and hotline calls with an id at or below their marker are the
rehearsal's; releases numbered ``<= releases_through`` are archived (kept, never served). The newest row
of an election is its current epoch; an election without a row is in its first epoch (nothing excluded).
The election's ``mode`` (test or live) is the one column that changes in place.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
MESSAGE = "election epochs are append-only"


def upgrade() -> None:
    op.create_table(
        "election_epochs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("counts_after_seq", sa.Integer(), nullable=False),
        sa.Column("photos_after_id", sa.Integer(), nullable=False),
        sa.Column("messages_after_id", sa.Integer(), nullable=False),
        sa.Column("requests_after_id", sa.Integer(), nullable=False),
        sa.Column("calls_after_id", sa.Integer(), nullable=False),
        sa.Column("releases_through", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_epochs")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_election_epochs_election_id_elections")),
        sa.CheckConstraint("action IN ('go-live', 'reset-rehearsal')", name=op.f("ck_election_epochs_action")),
        sa.CheckConstraint("mode IN ('test', 'live')", name=op.f("ck_election_epochs_mode")),
        sa.CheckConstraint("counts_after_seq >= 0 AND photos_after_id >= 0 AND messages_after_id >= 0 AND "
                           "requests_after_id >= 0 AND calls_after_id >= 0 AND releases_through >= 0",
                           name=op.f("ck_election_epochs_markers")),
    )
    op.create_index(op.f("ix_election_epochs_election_id_id"), "election_epochs", ["election_id", "id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # caucus_append_only() was created by revision 0001.
        op.execute("CREATE TRIGGER election_epochs_append_only BEFORE UPDATE OR DELETE ON election_epochs "
                   f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
        op.execute("CREATE TRIGGER election_epochs_no_truncate BEFORE TRUNCATE ON election_epochs "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER election_epochs_no_{event.lower()} BEFORE {event} ON election_epochs "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")

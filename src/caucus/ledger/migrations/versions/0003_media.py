"""Worksheet photos and messages from headquarters to a precinct's chair.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

``photos`` keeps every uploaded worksheet photo (the bytes, their SHA-256, who sent it through which
channel, and the idempotency key of the upload); ``hq_messages`` keeps every message HQ sent a precinct's
chair. Both are records: append-only, like the ledger.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
MESSAGES = {"photos": "photos are append-only", "hq_messages": "messages are append-only"}


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("received_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_photos_election_id_elections")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"], name=op.f("fk_photos_precinct_id_precincts")),
        sa.UniqueConstraint("election_id", "idempotency_key", name=op.f("uq_photos_election_id_idempotency_key")),
        sa.CheckConstraint("channel IN ('app', 'hotline', 'paper', 'import')", name=op.f("ck_photos_channel")),
        sa.CheckConstraint("size > 0 AND width > 0 AND height > 0", name=op.f("ck_photos_dimensions")),
    )
    op.create_index(op.f("ix_photos_election_id_precinct_id"), "photos", ["election_id", "precinct_id"])
    op.create_table(
        "hq_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("sent_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hq_messages")),
        sa.ForeignKeyConstraint(
            ["election_id"], ["elections.id"], name=op.f("fk_hq_messages_election_id_elections")
        ),
        sa.ForeignKeyConstraint(
            ["precinct_id"], ["precincts.id"], name=op.f("fk_hq_messages_precinct_id_precincts")
        ),
        sa.CheckConstraint("kind IN ('note', 'resend-photo', 'call-hq')", name=op.f("ck_hq_messages_kind")),
        sa.CheckConstraint("length(text) > 0", name=op.f("ck_hq_messages_text")),
    )
    op.create_index(
        op.f("ix_hq_messages_election_id_precinct_id"), "hq_messages", ["election_id", "precinct_id"]
    )
    _append_only()


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    for table, message in MESSAGES.items():
        if dialect == "postgresql":
            # caucus_append_only() was created by revision 0001.
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{message}')"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{message}')"
            )
        elif dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
        else:
            raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")

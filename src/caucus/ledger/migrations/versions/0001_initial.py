"""The ledger: elections, precincts, credentials, append-only ledger entries and audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# UTC timestamps: timestamptz on PostgreSQL, fixed-width ISO 8601 text on SQLite.
UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
APPEND_ONLY = {"ledger_entries": "ledger is append-only", "audit_log": "audit log is append-only"}


def upgrade() -> None:
    op.create_table(
        "elections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("plan_name", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elections")),
        sa.UniqueConstraint("slug", name=op.f("uq_elections_slug")),
        sa.CheckConstraint("mode IN ('test', 'live')", name=op.f("ck_elections_mode")),
    )
    op.create_table(
        "precincts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("county", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("delegates", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_precincts")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_precincts_election_id_elections")),
        sa.UniqueConstraint("election_id", "code", name=op.f("uq_precincts_election_id_code")),
        sa.CheckConstraint("kind IN ('precinct', 'satellite')", name=op.f("ck_precincts_kind")),
        sa.CheckConstraint("delegates IS NULL OR delegates >= 0", name=op.f("ck_precincts_delegates")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_credentials_election_id_elections")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"], name=op.f("fk_credentials_precinct_id_precincts")),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f("ck_credentials_status")),
        sa.CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name=op.f("ck_credentials_revoked_at")),
    )
    op.create_index(
        op.f("uq_credentials_one_active"),
        "credentials",
        ["precinct_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("received_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("supersedes_seq", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("election_id", "seq", name=op.f("pk_ledger_entries")),
        sa.ForeignKeyConstraint(
            ["election_id"], ["elections.id"], name=op.f("fk_ledger_entries_election_id_elections")
        ),
        sa.ForeignKeyConstraint(
            ["precinct_id"], ["precincts.id"], name=op.f("fk_ledger_entries_precinct_id_precincts")
        ),
        sa.ForeignKeyConstraint(
            ["election_id", "supersedes_seq"],
            ["ledger_entries.election_id", "ledger_entries.seq"],
            name=op.f("fk_ledger_entries_supersedes"),
        ),
        sa.UniqueConstraint(
            "election_id", "idempotency_key", name=op.f("uq_ledger_entries_election_id_idempotency_key")
        ),
        sa.UniqueConstraint("election_id", "supersedes_seq", name=op.f("uq_ledger_entries_election_id_supersedes_seq")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_ledger_entries_seq")),
        sa.CheckConstraint("channel IN ('app', 'hotline', 'paper', 'import')", name=op.f("ck_ledger_entries_channel")),
        sa.CheckConstraint(
            "stage IN ('attendance', 'first', 'final', 'delegates')", name=op.f("ck_ledger_entries_stage")
        ),
        sa.CheckConstraint(
            "supersedes_seq IS NULL OR supersedes_seq < seq",
            name=op.f("ck_ledger_entries_supersedes_earlier"),
        ),
        sa.CheckConstraint(
            "supersedes_seq IS NULL OR (reason IS NOT NULL AND length(trim(reason)) > 0)",
            name=op.f("ck_ledger_entries_correction_reason"),
        ),
    )
    op.create_index(
        op.f("ix_ledger_entries_election_id_precinct_id_seq"),
        "ledger_entries",
        ["election_id", "precinct_id", "seq"],
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_audit_log_election_id_elections")),
    )
    op.create_index(op.f("ix_audit_log_election_id_at"), "audit_log", ["election_id", "at"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION caucus_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation'; END $$"
        )
        for table, message in APPEND_ONLY.items():
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{message}')"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{message}')"
            )
    elif dialect == "sqlite":
        for table, message in APPEND_ONLY.items():
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")

"""Headquarters: staff accounts and sessions, staff sign-in attempts, hotline calls, review decisions,
recanvass requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

``staff_sessions`` holds a SHA-256 hash of each session token (never the token). Records (staff sign-in
attempts, hotline calls, review decisions, recanvass requests) are append-only, like the ledger; only
``staff_users`` (disable an account) and ``staff_sessions`` (last seen, sign out) change in place.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
STAFF_ROLES = "role IN ('admin', 'operator', 'reviewer', 'director', 'observer')"
APPEND_ONLY = {
    "staff_signin_attempts": "staff sign-in attempts are append-only",
    "hotline_calls": "hotline calls are append-only",
    "review_decisions": "review decisions are append-only",
    "recanvass_requests": "recanvass requests are append-only",
}


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("disabled_at", UTC_TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
        sa.CheckConstraint(STAFF_ROLES, name=op.f("ck_staff_users_role")),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_staff_users_status")),
        sa.CheckConstraint("(status = 'disabled') = (disabled_at IS NOT NULL)",
                           name=op.f("ck_staff_users_disabled_at")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], name=op.f("fk_staff_sessions_user_id_staff_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_staff_sessions_expiry")),
    )
    op.create_table(
        "staff_signin_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_signin_attempts")),
        sa.CheckConstraint("outcome IN ('ok', 'bad-password', 'account-locked', 'client-limited')",
                           name=op.f("ck_staff_signin_attempts_outcome")),
    )
    op.create_index(op.f("ix_staff_signin_attempts_username_at"), "staff_signin_attempts", ["username", "at"])
    op.create_index(op.f("ix_staff_signin_attempts_client_at"), "staff_signin_attempts", ["client", "at"])
    op.create_table(
        "hotline_calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_code", sa.String(100), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_calls")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_hotline_calls_election_id_elections")),
        sa.CheckConstraint("outcome IN ('verified', 'bad-credential', 'precinct-locked')",
                           name=op.f("ck_hotline_calls_outcome")),
    )
    op.create_index(op.f("ix_hotline_calls_election_id_precinct_code_at"), "hotline_calls",
                    ["election_id", "precinct_code", "at"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_code", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(24), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_review_decisions_election_id_elections")),
        sa.CheckConstraint("decision IN ('accept', 'recanvass-unchanged')", name=op.f("ck_review_decisions_decision")),
        sa.CheckConstraint("length(trim(note)) > 0", name=op.f("ck_review_decisions_note")),
    )
    op.create_index(op.f("ix_review_decisions_election_id_precinct_code"), "review_decisions",
                    ["election_id", "precinct_code"])
    op.create_table(
        "recanvass_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("precincts", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("as_of_seq", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recanvass_requests")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_recanvass_requests_election_id_elections")),
        sa.CheckConstraint("kind IN ('recanvass', 'recount')", name=op.f("ck_recanvass_requests_kind")),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_recanvass_requests_reason")),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table, message in APPEND_ONLY.items():
        if dialect == "postgresql":
            # caucus_append_only() was created by revision 0001.
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{message}')")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{message}')")
        elif dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        else:
            raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")

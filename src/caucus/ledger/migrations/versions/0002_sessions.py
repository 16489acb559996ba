"""Chair sessions and sign-in attempts, shared by every app worker.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``sessions`` holds a SHA-256 hash of each bearer token (never the token), bound to the credential it was
signed in with, so revoking or rotating a credential ends its sessions. ``signin_attempts`` records every
sign-in attempt (append-only) for the per-precinct lockout and the per-client limit.

Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# UTC timestamps: timestamptz on PostgreSQL, fixed-width ISO 8601 text on SQLite (as in 0001).
UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
ATTEMPT_OUTCOMES = "outcome IN ('ok', 'bad-credential', 'precinct-locked', 'client-limited')"
APPEND_ONLY_MESSAGE = "sign-in attempts are append-only"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_sessions_election_id_elections")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"], name=op.f("fk_sessions_precinct_id_precincts")),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credentials.id"], name=op.f("fk_sessions_credential_id_credentials")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_sessions_expiry")),
    )
    op.create_index(op.f("ix_sessions_election_id_precinct_id"), "sessions", ["election_id", "precinct_id"])
    op.create_table(
        "signin_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("precinct_code", sa.String(100), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_attempts")),
        sa.ForeignKeyConstraint(
            ["election_id"], ["elections.id"], name=op.f("fk_signin_attempts_election_id_elections")
        ),
        sa.CheckConstraint(ATTEMPT_OUTCOMES, name=op.f("ck_signin_attempts_outcome")),
        sa.CheckConstraint("ok = (outcome = 'ok')", name=op.f("ck_signin_attempts_ok")),
    )
    op.create_index(
        op.f("ix_signin_attempts_election_id_precinct_code_at"),
        "signin_attempts",
        ["election_id", "precinct_code", "at"],
    )
    op.create_index(
        op.f("ix_signin_attempts_election_id_client_at"), "signin_attempts", ["election_id", "client", "at"]
    )
    _append_only_attempts()


def _append_only_attempts() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # caucus_append_only() was created by revision 0001.
        op.execute(
            "CREATE TRIGGER signin_attempts_append_only BEFORE UPDATE OR DELETE ON signin_attempts "
            f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{APPEND_ONLY_MESSAGE}')"
        )
        op.execute(
            "CREATE TRIGGER signin_attempts_no_truncate BEFORE TRUNCATE ON signin_attempts "
            f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{APPEND_ONLY_MESSAGE}')"
        )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER signin_attempts_no_{event.lower()} BEFORE {event} ON signin_attempts "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise NotImplementedError("caucus migrations are forward-only; write a new revision instead")

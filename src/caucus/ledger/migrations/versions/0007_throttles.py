"""Hotline codes and sign-in throttles.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

- ``credentials.hotline_hash``: the argon2id hash of the precinct's hotline code, the second secret on the
  card, which verifies hotline calls only (never a sign-in). Null for credentials issued before this
  revision: such a precinct cannot be verified on the phone until its credential is rotated.
- ``throttle_failures``: one row per failed attempt that counts towards a throttle (a chair sign-in, a
  hotline verification, a staff sign-in), keyed by what was tried (``target``: a precinct code or a
  username) and by whom (``client``: a network address, or the hotline operator). Throttles are computed
  from the rows not yet cleared; a success clears its (target, client) pair's rows, and HQ or a credential
  rotation clears them with ``cleared_by`` saying who. The history stays in ``signin_attempts``,
  ``staff_signin_attempts``, ``hotline_calls`` and the audit log.

Additive only. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.add_column("credentials", sa.Column("hotline_hash", sa.String(255), nullable=True))
    op.create_table(
        "throttle_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("cleared_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("cleared_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_failures")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_throttle_failures_election_id_elections")),
        sa.CheckConstraint("kind IN ('chair', 'hotline', 'staff')", name=op.f("ck_throttle_failures_kind")),
        sa.CheckConstraint("(cleared_at IS NULL) = (cleared_by IS NULL)", name=op.f("ck_throttle_failures_cleared")),
    )
    op.create_index(op.f("ix_throttle_failures_kind_client_at"), "throttle_failures", ["kind", "client", "at"])
    op.create_index(op.f("ix_throttle_failures_kind_target_at"), "throttle_failures", ["kind", "target", "at"])
    op.create_index(op.f("ix_throttle_failures_kind_at"), "throttle_failures", ["kind", "at"])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

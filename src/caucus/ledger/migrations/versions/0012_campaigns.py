"""Campaign accounts and the campaigns' own tallies (issue 13).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

- ``staff_users.role`` may be ``campaign``; ``staff_users.campaign`` names the preference group (candidate)
  a campaign account is scoped to (NULL for every other role).
- ``campaign_tallies``: each campaign's own numbers per precinct (first and final alignment, SDEs), as its
  captains wrote them down. Append-only (triggers), hash-chained per election and campaign (``prev_hash`` ->
  ``content_hash``, :mod:`caucus.ledger.campaign_tallies`). A separate table on purpose: nothing that reads
  ``ledger_entries`` (status, four eyes, releases, ``caucus verify``) can ever count or publish them.

On SQLite the role CHECK is part of the table's text; it is widened in place with the procedure SQLite
documents for changes that leave the stored rows as they are (``writable_schema``; the old rows all satisfy
the wider CHECK). Additive only. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
OLD_ROLES = "role IN ('admin', 'operator', 'reviewer', 'director', 'observer')"
NEW_ROLES = "role IN ('admin', 'operator', 'reviewer', 'director', 'observer', 'campaign')"
MESSAGE = "campaign tallies are append-only"


def _widen_role_check() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_staff_users_role"), "staff_users", type_="check")
        op.create_check_constraint(op.f("ck_staff_users_role"), "staff_users", NEW_ROLES)
        return
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'staff_users'"
                               ).scalar_one()
    if NEW_ROLES in sql:
        return
    if OLD_ROLES not in sql:
        raise RuntimeError(f"staff_users has an unexpected role CHECK: {sql}")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'staff_users'",
                             (sql.replace(OLD_ROLES, NEW_ROLES),))
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _widen_role_check()
    op.add_column("staff_users", sa.Column("campaign", sa.String(100), nullable=True))
    op.create_table(
        "campaign_tallies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(100), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("precinct_code", sa.String(100), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("received_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_tallies")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_campaign_tallies_election_id_elections")),
        sa.CheckConstraint("epoch >= 0", name=op.f("ck_campaign_tallies_epoch")),
    )
    op.create_index(op.f("ix_campaign_tallies_election_id_campaign_precinct_code"), "campaign_tallies",
                    ["election_id", "campaign", "precinct_code"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE TRIGGER campaign_tallies_append_only BEFORE UPDATE OR DELETE ON campaign_tallies "
                   f"FOR EACH ROW EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
        op.execute("CREATE TRIGGER campaign_tallies_no_truncate BEFORE TRUNCATE ON campaign_tallies "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION caucus_append_only('{MESSAGE}')")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER campaign_tallies_no_{event.lower()} BEFORE {event} ON campaign_tallies "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

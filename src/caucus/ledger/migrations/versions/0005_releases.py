"""Releases: numbered, immutable snapshots of the accepted results, and the continuous-release switch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

- ``releases``: one row per release (number unique per election: the database, not a process lock, decides
  which worker writes release n), its actor, test/zero flags, status (unofficial or certified, with the
  certifying act), content hash (sha256 of the snapshot's manifest.json), counts and the manifest itself.
- ``release_precincts``: for each release, the precincts whose released record changed (the full record as
  canonical JSON, the ledger seq it was derived up to, and the reasons of the corrections behind a change).
  A precinct's record in release n is its latest row with number <= n.
- ``release_modes``: every switch of continuous release on or off, with its actor; the latest row wins.

All three are append-only (triggers, as in 0001/0002). Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
APPEND_ONLY = {
    "releases": "releases are append-only",
    "release_precincts": "released precinct records are append-only",
    "release_modes": "release mode changes are append-only",
}


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("zero", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("precincts_reporting", sa.Integer(), nullable=False),
        sa.Column("precincts_total", sa.Integer(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("certified_act", sa.Text(), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"], name=op.f("fk_releases_election_id_elections")),
        sa.UniqueConstraint("election_id", "number", name=op.f("uq_releases_election_id_number")),
        sa.CheckConstraint("number >= 1", name=op.f("ck_releases_number")),
        sa.CheckConstraint("status IN ('unofficial', 'certified')", name=op.f("ck_releases_status")),
        sa.CheckConstraint("(status = 'certified') = (certified_act IS NOT NULL)", name=op.f("ck_releases_act")),
        sa.CheckConstraint("precincts_reporting >= 0 AND precincts_reporting <= precincts_total",
                           name=op.f("ck_releases_counts")),
    )
    op.create_table(
        "release_precincts",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("precinct_code", sa.String(100), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("election_id", "number", "precinct_code", name=op.f("pk_release_precincts")),
        sa.ForeignKeyConstraint(
            ["election_id", "number"], ["releases.election_id", "releases.number"],
            name=op.f("fk_release_precincts_election_id_number_releases"),
        ),
    )
    op.create_index(op.f("ix_release_precincts_election_id_precinct_code_number"), "release_precincts",
                    ["election_id", "precinct_code", "number"])
    op.create_table(
        "release_modes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("continuous", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_modes")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_release_modes_election_id_elections")),
    )
    _append_only()


def _append_only() -> None:
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

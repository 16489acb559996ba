"""The statewide released SDEs per preference group (issue 15: the campaigns' cross-check from the maintained
state).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08

``released_sde_totals``: per election and group, the SDEs of each precinct's newest released record of the
current epoch summed (an exact decimal as text), kept by each release's transaction (the difference its records
make), so ``/hq/campaign`` shows the statewide released SDEs without reading every released record. Derived data
like ``precinct_status`` (``caucus state check|rebuild``).

This revision fills it from the releases the database holds. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    table = op.create_table(
        "released_sde_totals",
        sa.Column("election_id", sa.Integer(), sa.ForeignKey("elections.id"), primary_key=True),
        sa.Column("grp", sa.String(200), primary_key=True),
        sa.Column("sde", sa.Text(), nullable=False))
    bind = op.get_bind()
    for (election_id,) in bind.execute(sa.text("SELECT id FROM elections")).all():
        through = bind.execute(sa.text("SELECT releases_through FROM election_epochs WHERE election_id = :e "
                                       "ORDER BY id DESC LIMIT 1"), {"e": election_id}).scalar() or 0
        newest: dict[str, str] = {}
        for code, record in bind.execute(sa.text(
                "SELECT rp.precinct_code, rp.record FROM release_precincts rp JOIN precincts p "
                "ON p.election_id = rp.election_id AND p.code = rp.precinct_code "
                "WHERE rp.election_id = :e AND rp.number > :t ORDER BY rp.number"), {"e": election_id, "t": through}):
            newest[code] = record
        totals: dict[str, Decimal] = {}
        for record in newest.values():
            for group, value in (json.loads(record).get("sde") or {}).items():
                totals[str(group)] = totals.get(str(group), Decimal(0)) + Decimal(str(value))
        if totals:
            op.bulk_insert(table, [{"election_id": election_id, "grp": g, "sde": str(v)} for g, v in totals.items()])


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

"""The number of the release that published each precinct's released record (issue 15: the campaigns' browse
page and export from the maintained state).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08

``precinct_status.released_number``: the number of the newest release of the current epoch that released the
precinct (the release of ``released_seq``'s record; NULL: not released in this epoch), written by the release's
transaction with ``released_seq``, so the browse page (``/hq/precincts``) finds each listed precinct's released
record by its primary key and filters "changed since release n" along an index, without deriving every precinct.
Derived data like the rest of the row (``caucus state check|rebuild``).

This revision fills it from the releases the database holds. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("precinct_status", sa.Column("released_number", sa.Integer(), nullable=True))
    op.create_index("ix_precinct_status_released_number", "precinct_status", ["election_id", "released_number"])
    # the newest release of the election's current epoch with a record of the precinct
    op.execute(
        "UPDATE precinct_status SET released_number = (SELECT max(rp.number) FROM release_precincts rp "
        "JOIN precincts p ON p.election_id = rp.election_id AND p.code = rp.precinct_code "
        "WHERE p.id = precinct_status.precinct_id AND rp.number > COALESCE((SELECT e.releases_through "
        "FROM election_epochs e WHERE e.election_id = rp.election_id ORDER BY e.id DESC LIMIT 1), 0)) "
        "WHERE released_seq IS NOT NULL")


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

"""Each precinct's readiness, maintained with its cards and sign-ins; what each precinct's newest release held
(issue 15: HQ pages from the maintained state).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

``precinct_readiness``: one row per precinct with an active card, a sign-in, a test of the sign-in or a sign-in
refused for a bad credential (``caucus.ledger.readiness``), with the precinct's county and code copied; and
``readiness_counts``: per county, how many have a card, have signed in, have tested. Written in the same
transaction as the card or sign-in that changes them; derived data (``caucus state check|rebuild``).

``precinct_status.released_seq`` and ``released_findings``: the ledger seq and the finding codes of the
precinct's record in the newest release of the current epoch that released it, written by the release's
transaction, so the release and quality pages count what a release would publish (and what was published)
without deriving every precinct. ``precinct_status.codes``: the reason codes of the precinct's state (what a
campaign may see of an unreleased precinct); the existing rows are made stale (derived again on read until the
server's start-up or ``caucus state rebuild``).

This revision fills all three from what the database holds. Forward-only: to undo a change, write a new revision.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("precinct_status", sa.Column("released_seq", sa.Integer(), nullable=True))
    op.add_column("precinct_status", sa.Column("released_findings", sa.Text(), nullable=True))
    op.add_column("precinct_status", sa.Column("codes", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_precinct_status_released", "precinct_status",
                    ["election_id", "state", "last_seq", "released_seq"])
    op.create_index("ix_precinct_status_plan", "precinct_status", ["election_id", "state", "precinct_id"])
    op.create_index("ix_precinct_status_findings", "precinct_status", ["election_id", "released_findings"])
    op.create_table(
        "precinct_readiness",
        sa.Column("precinct_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("county", sa.String(100), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("credential", sa.Boolean(), nullable=False),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("tested", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("precinct_id", name=op.f("pk_precinct_readiness")),
        sa.ForeignKeyConstraint(["precinct_id"], ["precincts.id"],
                                name=op.f("fk_precinct_readiness_precinct_id_precincts")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_precinct_readiness_election_id_elections")),
    )
    op.create_index("ix_precinct_readiness_phone", "precinct_readiness",
                    ["election_id", "credential", "signed_in", "failed", "county", "code"])
    op.create_table(
        "readiness_counts",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("county", sa.String(100), nullable=False),
        sa.Column("what", sa.String(12), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("election_id", "county", "what", name=op.f("pk_readiness_counts")),
        sa.ForeignKeyConstraint(["election_id"], ["elections.id"],
                                name=op.f("fk_readiness_counts_election_id_elections")),
    )
    _fill()


def _fill() -> None:
    """The rows and counts as the cards, sign-ins, audit log and releases make them now."""
    attempt = ("SELECT {what} FROM signin_attempts s WHERE s.election_id = p.election_id AND s.precinct_code = p.code "
               "AND s.outcome = '{outcome}'")
    card = "EXISTS (SELECT 1 FROM credentials c WHERE c.precinct_id = p.id AND c.status = 'active')"
    signed = f"EXISTS ({attempt.format(what='1', outcome='ok')})"
    failed = f"({attempt.format(what='count(*)', outcome='bad-credential')})"
    op.execute(f"INSERT INTO precinct_readiness (precinct_id, election_id, county, code, credential, signed_in, "
               f"tested, failed) SELECT p.id, p.election_id, p.county, p.code, {card}, {signed}, FALSE, {failed} "
               f"FROM precincts p WHERE {card} OR {signed} OR {failed} > 0")
    bind = op.get_bind()
    tested = set()
    for election_id, detail in bind.execute(sa.text(
            "SELECT election_id, detail FROM audit_log WHERE action = 'session.test' AND outcome = 'ok' "
            "AND election_id IS NOT NULL")):
        tested.add((election_id, str(json.loads(detail).get("precinct"))))
    for election_id, code in sorted(tested):
        bind.execute(sa.text("UPDATE precinct_readiness SET tested = TRUE WHERE election_id = :e AND code = :c"),
                     {"e": election_id, "c": code})
    for what, column in (("credential", "credential"), ("signed-in", "signed_in"), ("tested", "tested")):
        op.execute(f"INSERT INTO readiness_counts (election_id, county, what, n) SELECT election_id, county, "
                   f"'{what}', count(*) FROM precinct_readiness WHERE {column} = TRUE GROUP BY election_id, county")
    # what the newest release of each election's current epoch holds of each precinct
    released: dict[int, tuple[int, str]] = {}
    for pid, seq, record in bind.execute(sa.text(
            "SELECT p.id, rp.ledger_seq, rp.record FROM release_precincts rp JOIN precincts p "
            "ON p.election_id = rp.election_id AND p.code = rp.precinct_code WHERE rp.number > COALESCE(("
            "SELECT e.releases_through FROM election_epochs e WHERE e.election_id = rp.election_id "
            "ORDER BY e.id DESC LIMIT 1), 0) ORDER BY rp.number")):
        findings = json.loads(record).get("findings") or ()
        released[int(pid)] = (int(seq), ",".join(str(f["code"]) for f in findings))
    for pid, (seq, findings) in released.items():
        bind.execute(sa.text("UPDATE precinct_status SET released_seq = :s, released_findings = :f "
                             "WHERE precinct_id = :p"), {"s": seq, "f": findings, "p": pid})
    # the rows lack their reason codes: stale (derived on read until the server's start-up or ``caucus state
    # rebuild`` derives them), so in none of the counts
    op.execute("UPDATE precinct_status SET state = NULL, county = NULL, queue_rank = NULL, why = '', "
               "reasons = '[]', last_seq = NULL, first_at = NULL, last_at = NULL, first_quarter = NULL")
    op.execute("DELETE FROM status_counts")


def downgrade() -> None:
    raise NotImplementedError("forward-only: write a new revision instead")

"""Precinct credentials: issue, verify, rotate, revoke; argon2id hashes only, never the secret in clear."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from caucus.ledger import (
    PrecinctSpec,
    UnknownElection,
    UnknownPrecinct,
    audit_events,
    create_election,
    issue_cards,
    issue_credential,
    issue_credentials,
    revoke_credential,
    verify_credential,
    verify_hotline_code,
)
from caucus.ledger.credentials import ALPHABET, DEFAULT_COST, ENTROPY_BITS, generate_secret, normalize_secret
from caucus.ledger.db import utcnow
from caucus.ledger.schema import credentials
from tests.ledger.support import FAST_COST, PRECINCTS, SLUG

CODE = "Adair/01NW"


def test_secrets_are_readable_and_strong() -> None:
    assert ENTROPY_BITS >= 80
    assert not set("0O1IL") & set(ALPHABET)
    secrets_ = {generate_secret() for _ in range(200)}
    assert len(secrets_) == 200
    for secret in secrets_:
        assert re.fullmatch(r"([2-9A-HJKMNP-TV-Z]{4}-){4}[2-9A-HJKMNP-TV-Z]{4}", secret)
    assert normalize_secret(" abcd-efgh jkmn-pqrs-tvwx ") == "ABCDEFGHJKMNPQRSTVWX"
    assert normalize_secret("ABCD-EFGH-JKMN-PQRS-TVWO") is None  # O is not in the alphabet
    assert normalize_secret("ABCD") is None


def test_default_cost_is_at_least_owasp_minimum() -> None:
    assert DEFAULT_COST.memory_cost_kib >= 19 * 1024 and DEFAULT_COST.time_cost >= 2


def test_issue_then_verify(engine: Engine, election: str) -> None:
    secret = issue_credential(engine, SLUG, CODE, cost=FAST_COST)
    assert verify_credential(engine, SLUG, CODE, secret)
    assert verify_credential(engine, SLUG, CODE, secret.lower().replace("-", " "))
    assert not verify_credential(engine, SLUG, CODE, generate_secret())
    assert not verify_credential(engine, SLUG, CODE, "not a secret")
    assert not verify_credential(engine, SLUG, "Adair/02NE", secret)  # another precinct's
    with pytest.raises(UnknownPrecinct):
        verify_credential(engine, SLUG, "Nowhere/1", secret)
    with pytest.raises(UnknownElection):
        verify_credential(engine, "nope", CODE, secret)


def test_rotation_and_revocation(engine: Engine, election: str) -> None:
    old = issue_credential(engine, SLUG, CODE, cost=FAST_COST)
    new = issue_credential(engine, SLUG, CODE, cost=FAST_COST, actor="admin:kim")
    assert new != old
    assert not verify_credential(engine, SLUG, CODE, old)
    assert verify_credential(engine, SLUG, CODE, new)
    assert revoke_credential(engine, SLUG, CODE, actor="admin:kim")
    assert not verify_credential(engine, SLUG, CODE, new)
    assert not revoke_credential(engine, SLUG, CODE)
    with engine.connect() as conn:
        rows = conn.execute(select(credentials).order_by(credentials.c.id)).all()
    assert [(r.status, r.revoked_at is not None) for r in rows] == [("revoked", True), ("revoked", True)]
    events = [(e.action, e.actor, e.detail, e.outcome) for e in audit_events(engine, SLUG) if "credential" in e.action]
    assert events == [
        ("credential.issue", "system", {"precinct": CODE, "rotated": False}, "ok"),
        ("credential.issue", "admin:kim", {"precinct": CODE, "rotated": True}, "ok"),
        ("credential.revoke", "admin:kim", {"precinct": CODE}, "ok"),
        ("credential.revoke", "system", {"precinct": CODE}, "none-active"),
    ]


def test_only_argon2id_hashes_are_stored(engine: Engine, election: str) -> None:
    issued = issue_credentials(engine, SLUG, [spec.code for spec in PRECINCTS], cost=FAST_COST)
    assert sorted(issued) == sorted(spec.code for spec in PRECINCTS)
    with engine.connect() as conn:
        hashes = conn.execute(select(credentials.c.secret_hash)).scalars().all()
        dump = "\n".join(
            str(tuple(row))
            for table in ("credentials", "audit_log", "precincts", "elections")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert len(hashes) == len(PRECINCTS)
    assert all(h.startswith("$argon2id$") for h in hashes)
    for secret in issued.values():
        for form in (secret, secret.replace("-", ""), secret.lower(), secret.replace("-", "").lower()):
            assert form not in dump


def test_the_database_allows_one_active_credential_per_precinct(engine: Engine, election: str) -> None:
    issue_credential(engine, SLUG, CODE, cost=FAST_COST)
    with engine.connect() as conn:
        row = conn.execute(select(credentials)).one()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(credentials).values(
                election_id=row.election_id,
                precinct_id=row.precinct_id,
                secret_hash="$argon2id$x",
                status="active",
                created_at=utcnow(),
            )
        )


def test_cards_for_thousands_of_precincts_are_issued_set_by_set_and_rotate(engine: Engine) -> None:
    """More precincts than one statement's set (2,000) and enough hashes to hash on every core: each gets
    its own working pair, one audit event each; issuing again rotates exactly the precincts named."""
    specs = [PrecinctSpec(f"Big/{i:05d}", "Big", f"Big {i}", 3) for i in range(4500)]
    create_election(engine, "big", "iowa-2020", "test", specs)
    issued = issue_cards(engine, "big", [s.code for s in specs], cost=FAST_COST)
    assert len(issued) == 4500 and len({c.credential for c in issued.values()}) == 4500
    for code in ("Big/00000", "Big/02000", "Big/04499"):
        assert verify_credential(engine, "big", code, issued[code].credential)
        assert verify_hotline_code(engine, "big", code, issued[code].hotline_code)
        assert not verify_credential(engine, "big", code, issued["Big/00001"].credential)
    again = issue_cards(engine, "big", ["Big/02000", "Big/04499"], cost=FAST_COST, actor="admin:kim")
    assert not verify_credential(engine, "big", "Big/02000", issued["Big/02000"].credential)
    assert verify_credential(engine, "big", "Big/02000", again["Big/02000"].credential)
    assert verify_credential(engine, "big", "Big/00000", issued["Big/00000"].credential)
    with engine.connect() as conn:
        statuses = conn.execute(select(credentials.c.status)).scalars().all()
    assert (statuses.count("active"), statuses.count("revoked")) == (4500, 2)
    events = [e for e in audit_events(engine, "big") if e.action == "credential.issue"]
    assert len(events) == 4502
    assert [(e.actor, e.detail) for e in events[-2:]] == [("admin:kim", {"precinct": "Big/02000", "rotated": True}),
                                                          ("admin:kim", {"precinct": "Big/04499", "rotated": True})]
    with pytest.raises(UnknownPrecinct):
        issue_cards(engine, "big", ["Big/00000", "Nowhere/1"], cost=FAST_COST)

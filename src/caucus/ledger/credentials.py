"""Precinct credentials: high-entropy secrets that are easy to type on a phone and to read aloud.

Each precinct's card carries two secrets, both from Crockford's base32 alphabet without 0 and 1 (so no
0/O, 1/I/L and no U: 30 symbols, log2(30) = 4.91 bits each):

- the **app credential**, 20 characters in five groups of four (``7KQM-3XZT-...``), 98.1 bits: it signs the
  chair in to the app and the API, and is never read aloud;
- the **hotline code**, 12 characters in three groups of four (``H7KQ-M3XZ-T9PW``), 58.9 bits: the chair
  reads it to the hotline operator, and it verifies hotline calls only (it can never sign in: its length
  is not a credential's, and it is checked against its own hash).

Only argon2id hashes are stored. Issuing revokes the precinct's active credential and its hotline code
together (rotation); at most one pair is active per precinct.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, select, update

from caucus.ledger import audit, readiness
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.elections import election_id_for, precinct_id_for
from caucus.ledger.errors import UnknownPrecinct
from caucus.ledger.schema import audit_log, credentials, precincts, throttle_failures

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUP_LENGTH = 4
GROUPS = 5
SECRET_LENGTH = GROUP_LENGTH * GROUPS
ENTROPY_BITS = SECRET_LENGTH * math.log2(len(ALPHABET))
HOTLINE_GROUPS = 3
HOTLINE_LENGTH = GROUP_LENGTH * HOTLINE_GROUPS
HOTLINE_ENTROPY_BITS = HOTLINE_LENGTH * math.log2(len(ALPHABET))
_SEPARATORS = str.maketrans("", "", " -\t")


@dataclass(frozen=True)
class HashCost:
    """argon2id cost. The default (OWASP's minimum: 19 MiB, 2 passes) takes a few tens of ms per hash."""

    time_cost: int = 2
    memory_cost_kib: int = 19 * 1024
    parallelism: int = 1

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_cost_kib, parallelism=self.parallelism)


DEFAULT_COST = HashCost()


def _random_secret(length: int = SECRET_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class IssuedCredential:
    """A precinct's two new secrets, in display form: the only time they exist in clear."""

    credential: str
    hotline_code: str


def generate_secret() -> str:
    """A new random secret in display form (``XXXX-XXXX-XXXX-XXXX-XXXX``)."""
    return format_secret(_random_secret())


def format_secret(normalized: str) -> str:
    return "-".join(normalized[i : i + GROUP_LENGTH] for i in range(0, len(normalized), GROUP_LENGTH))


def normalize_secret(text: str, length: int = SECRET_LENGTH) -> str | None:
    """The secret as typed, without spaces or dashes and in upper case; None if it cannot be a secret of
    ``length`` characters (wrong length or a character outside the alphabet)."""
    if not isinstance(text, str):
        return None
    candidate = text.translate(_SEPARATORS).upper()
    if len(candidate) != length or any(ch not in ALPHABET for ch in candidate):
        return None
    return candidate


def normalize_hotline_code(text: str) -> str | None:
    """A hotline code as typed (spaces, dashes and case ignored); None if it cannot be one."""
    return normalize_secret(text, HOTLINE_LENGTH)


def _lock_precinct(conn: Connection, election_slug: str, precinct_code: str) -> tuple[int, int]:
    election_id = election_id_for(conn, election_slug)
    precinct_id = precinct_id_for(conn, election_id, election_slug, precinct_code)
    # Serialize rotations of one precinct on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
    conn.execute(select(precincts.c.id).where(precincts.c.id == precinct_id).with_for_update())
    return election_id, precinct_id


def _revoke_active(conn: Connection, precinct_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(credentials)
        .where(credentials.c.precinct_id == precinct_id, credentials.c.status == "active")
        .values(status="revoked", revoked_at=now)
    )
    return bool(result.rowcount)


#: precincts per statement when cards are issued in bulk (well under SQLite's 32,766 bound parameters)
_CHUNK = 2000
#: below this many hashes, threads cost more than they save
_THREADED_FROM = 64


def _hash_all(cost: HashCost, secrets_: list[str]) -> list[str]:
    """argon2id hashes of ``secrets_``, computed on every core: argon2-cffi releases the GIL while it hashes,
    so threads run in parallel (175,000 cards: two hashes each)."""
    hasher = cost.hasher()
    if len(secrets_) < _THREADED_FROM:
        return [hasher.hash(s) for s in secrets_]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(hasher.hash, secrets_, chunksize=256))


def issue_cards(
    engine: Engine,
    election_slug: str,
    precinct_codes: Iterable[str],
    *,
    cost: HashCost = DEFAULT_COST,
    actor: str = "system",
    now: datetime | None = None,
) -> dict[str, IssuedCredential]:
    """Issue a new app credential and hotline code for each precinct (revoking its active pair) in one
    transaction, and clear the precinct's sign-in and hotline throttles (a new card starts afresh).

    Works set by set (a national election issues 175,000 cards at once): the precincts are locked, their
    active pairs revoked, throttles cleared, new pairs and audit events written with a few statements per
    2,000 precincts. Returns the secrets in display form by precinct code: the only time they exist in clear.
    """
    raw = {code: (_random_secret(), _random_secret(HOTLINE_LENGTH)) for code in dict.fromkeys(precinct_codes)}
    codes = list(raw)
    # hashed before taking the write lock
    hashed = _hash_all(cost, [secret for pair in raw.values() for secret in pair])
    hashes = {code: (hashed[2 * i], hashed[2 * i + 1]) for i, code in enumerate(codes)}
    at = now or utcnow()
    with write_transaction(engine) as conn:
        election_id = election_id_for(conn, election_slug)
        for start in range(0, len(codes), _CHUNK):
            chunk = codes[start:start + _CHUNK]
            ids = _lock_precincts(conn, election_id, election_slug, chunk)
            rotated = set(conn.execute(
                update(credentials)
                .where(credentials.c.precinct_id.in_(list(ids.values())), credentials.c.status == "active")
                .values(status="revoked", revoked_at=at)
                .returning(credentials.c.precinct_id)).scalars())
            cleared = _clear_throttles_of(conn, election_id, chunk, at, f"{actor} (new credential)")
            conn.execute(credentials.insert(), [
                {"election_id": election_id, "precinct_id": ids[code], "secret_hash": hashes[code][0],
                 "hotline_hash": hashes[code][1], "status": "active", "created_at": at, "revoked_at": None}
                for code in chunk])
            conn.execute(audit_log.insert(), [
                audit.audit_row(election_id=election_id, at=at, actor=actor, action="credential.issue",
                                detail={"precinct": code, "rotated": ids[code] in rotated,
                                        **({"throttle_failures_cleared": cleared[code]} if cleared.get(code) else {})},
                                outcome="ok")
                for code in chunk])
            readiness.refresh(conn, election_id, list(ids.values()))  # HQ's readiness: same transaction
    return {code: IssuedCredential(format_secret(app), format_secret(hotline)) for code, (app, hotline) in raw.items()}


def _lock_precincts(conn: Connection, election_id: int, election_slug: str, codes: list[str]) -> dict[str, int]:
    """The ids of precincts ``codes`` (raises UnknownPrecinct for the first unknown one), locked for update
    on PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes)."""
    found: dict[str, int] = dict(conn.execute(
        select(precincts.c.code, precincts.c.id)
        .where(precincts.c.election_id == election_id, precincts.c.code.in_(codes))
        .with_for_update()).all())
    for code in codes:
        if code not in found:
            raise UnknownPrecinct(election_slug, code)
    return found


def _clear_throttles_of(conn: Connection, election_id: int, codes: list[str], at: datetime, by: str
                        ) -> dict[str, int]:
    """End every chair sign-in and hotline throttle of the precincts ``codes`` (their failures stop counting);
    the failures cleared, by precinct."""
    where = (throttle_failures.c.election_id == election_id, throttle_failures.c.target.in_(codes),
             throttle_failures.c.kind.in_(("chair", "hotline")), throttle_failures.c.cleared_at.is_(None))
    counts: dict[str, int] = dict(conn.execute(
        select(throttle_failures.c.target, func.count()).where(*where).group_by(throttle_failures.c.target)).all())
    if counts:
        conn.execute(update(throttle_failures).where(*where).values(cleared_at=at, cleared_by=by[:200]))
    return counts


def issue_credentials(
    engine: Engine,
    election_slug: str,
    precinct_codes: Iterable[str],
    *,
    cost: HashCost = DEFAULT_COST,
    actor: str = "system",
    now: datetime | None = None,
) -> dict[str, str]:
    """:func:`issue_cards` for callers that need only the app credentials (the hotline codes issued with
    them are then known to nobody: those precincts cannot phone in until rotated)."""
    issued = issue_cards(engine, election_slug, precinct_codes, cost=cost, actor=actor, now=now)
    return {code: card.credential for code, card in issued.items()}


def issue_credential(
    engine: Engine,
    election_slug: str,
    precinct_code: str,
    *,
    cost: HashCost = DEFAULT_COST,
    actor: str = "system",
    now: datetime | None = None,
) -> str:
    """Issue a new credential and hotline code for one precinct, revoking its active pair; return the app
    credential (use :func:`issue_cards` for the hotline code too)."""
    return issue_credentials(engine, election_slug, [precinct_code], cost=cost, actor=actor, now=now)[precinct_code]


def revoke_credential(
    engine: Engine,
    election_slug: str,
    precinct_code: str,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> bool:
    """Revoke the precinct's active credential; False if it had none."""
    at = now or utcnow()
    with write_transaction(engine) as conn:
        election_id, precinct_id = _lock_precinct(conn, election_slug, precinct_code)
        revoked = _revoke_active(conn, precinct_id, at)
        readiness.refresh(conn, election_id, [precinct_id])
        audit.record(
            conn,
            election_id=election_id,
            at=at,
            actor=actor,
            action="credential.revoke",
            detail={"precinct": precinct_code},
            outcome="ok" if revoked else "none-active",
        )
    return revoked


def _active_hashes(engine: Engine, election_slug: str, precinct_code: str) -> tuple[str, str | None] | None:
    with engine.connect() as conn:
        election_id = election_id_for(conn, election_slug)
        precinct_id = precinct_id_for(conn, election_id, election_slug, precinct_code)
        row = conn.execute(
            select(credentials.c.secret_hash, credentials.c.hotline_hash).where(
                credentials.c.precinct_id == precinct_id, credentials.c.status == "active"
            )
        ).first()
    return None if row is None else (row.secret_hash, row.hotline_hash)


def _matches(stored: str | None, normalized: str | None) -> bool:
    if stored is None or normalized is None:
        return False
    try:
        return PasswordHasher().verify(stored, normalized)
    except (VerificationError, InvalidHashError):
        return False


def verify_credential(engine: Engine, election_slug: str, precinct_code: str, secret: str) -> bool:
    """True when ``secret`` (spaces, dashes and case ignored) is the precinct's active app credential.

    A malformed secret, a revoked one, a hotline code or a precinct without a credential gives False; an
    unknown election or precinct raises UnknownElection / UnknownPrecinct.
    """
    hashes = _active_hashes(engine, election_slug, precinct_code)
    return hashes is not None and _matches(hashes[0], normalize_secret(secret))


def has_active_card(engine: Engine, election_slug: str, precinct_code: str) -> bool:
    """Whether the precinct holds an active card (none: never issued, or revoked and not rotated)."""
    return _active_hashes(engine, election_slug, precinct_code) is not None


def verify_hotline_code(engine: Engine, election_slug: str, precinct_code: str, code: str) -> bool:
    """True when ``code`` (spaces, dashes and case ignored) is the precinct's active hotline code. The app
    credential is never accepted here (it has another length and another hash)."""
    hashes = _active_hashes(engine, election_slug, precinct_code)
    return hashes is not None and _matches(hashes[1], normalize_hotline_code(code))

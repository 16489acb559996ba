"""Precinct credentials: high-entropy secrets that are easy to read aloud and type on a phone.

A secret is 20 characters from Crockford's base32 alphabet without 0 and 1 (so no 0/O, 1/I/L and no U),
shown as five groups of four (``7KQM-3XZT-...``): 20 x log2(30) = 98 bits. Only an argon2id hash is stored.
Issuing a credential revokes the precinct's active one (rotation); at most one is active per precinct.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update

from caucus.ledger import audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.elections import election_id_for, precinct_id_for
from caucus.ledger.schema import credentials, precincts

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUP_LENGTH = 4
GROUPS = 5
SECRET_LENGTH = GROUP_LENGTH * GROUPS
ENTROPY_BITS = SECRET_LENGTH * math.log2(len(ALPHABET))
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


def _random_secret() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))


def generate_secret() -> str:
    """A new random secret in display form (``XXXX-XXXX-XXXX-XXXX-XXXX``)."""
    return format_secret(_random_secret())


def format_secret(normalized: str) -> str:
    return "-".join(normalized[i : i + GROUP_LENGTH] for i in range(0, len(normalized), GROUP_LENGTH))


def normalize_secret(text: str) -> str | None:
    """The secret as typed, without spaces or dashes and in upper case; None if it cannot be a secret
    (wrong length or a character outside the alphabet)."""
    if not isinstance(text, str):
        return None
    candidate = text.translate(_SEPARATORS).upper()
    if len(candidate) != SECRET_LENGTH or any(ch not in ALPHABET for ch in candidate):
        return None
    return candidate


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


def issue_credentials(
    engine: Engine,
    election_slug: str,
    precinct_codes: Iterable[str],
    *,
    cost: HashCost = DEFAULT_COST,
    actor: str = "system",
    now: datetime | None = None,
) -> dict[str, str]:
    """Issue a new secret for each precinct (revoking its active one) in one transaction.

    Returns the secrets in display form by precinct code: the only time they exist in clear.
    """
    hasher = cost.hasher()
    raw = {code: _random_secret() for code in dict.fromkeys(precinct_codes)}
    hashes = {code: hasher.hash(secret) for code, secret in raw.items()}  # before taking the write lock
    at = now or utcnow()
    with write_transaction(engine) as conn:
        for code, secret_hash in hashes.items():
            election_id, precinct_id = _lock_precinct(conn, election_slug, code)
            rotated = _revoke_active(conn, precinct_id, at)
            conn.execute(
                credentials.insert().values(
                    election_id=election_id,
                    precinct_id=precinct_id,
                    secret_hash=secret_hash,
                    status="active",
                    created_at=at,
                    revoked_at=None,
                )
            )
            audit.record(
                conn,
                election_id=election_id,
                at=at,
                actor=actor,
                action="credential.issue",
                detail={"precinct": code, "rotated": rotated},
                outcome="ok",
            )
    return {code: format_secret(secret) for code, secret in raw.items()}


def issue_credential(
    engine: Engine,
    election_slug: str,
    precinct_code: str,
    *,
    cost: HashCost = DEFAULT_COST,
    actor: str = "system",
    now: datetime | None = None,
) -> str:
    """Issue a new secret for one precinct, revoking its active one; return it in display form."""
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


def verify_credential(engine: Engine, election_slug: str, precinct_code: str, secret: str) -> bool:
    """True when ``secret`` (spaces, dashes and case ignored) is the precinct's active credential.

    A malformed secret, a revoked one or a precinct without a credential gives False; an unknown election
    or precinct raises UnknownElection / UnknownPrecinct.
    """
    with engine.connect() as conn:
        election_id = election_id_for(conn, election_slug)
        precinct_id = precinct_id_for(conn, election_id, election_slug, precinct_code)
        stored = conn.execute(
            select(credentials.c.secret_hash).where(
                credentials.c.precinct_id == precinct_id, credentials.c.status == "active"
            )
        ).scalar_one_or_none()
    normalized = normalize_secret(secret)
    if stored is None or normalized is None:
        return False
    try:
        return PasswordHasher().verify(stored, normalized)
    except (VerificationError, InvalidHashError):
        return False

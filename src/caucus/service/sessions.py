"""Chair sign-in: a precinct code and its credential in, a bearer token out; sessions shared by every worker.

The token is 32 random bytes (URL-safe base64); only its SHA-256 hash is stored, in ``sessions``, bound to
the credential it was signed in with, so revoking or rotating that credential ends the session. Every
attempt is recorded in ``signin_attempts`` (history, HQ's readiness) and every refused one in the audit log
(``session.create``, outcome ``rejected:...``, actor ``client:<address>``). Guessing is throttled per
client address and per (precinct, address), never per precinct alone (:mod:`caucus.service.limits`): no
number of failures from other addresses stops the right credential.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BindParameter, Connection, Engine, and_, bindparam, func, select, update

from caucus.ledger import audit, readiness
from caucus.ledger.credentials import (
    DEFAULT_COST,
    GROUP_LENGTH,
    GROUPS,
    HOTLINE_GROUPS,
    normalize_hotline_code,
    normalize_secret,
)
from caucus.ledger.db import RawRead, iso_utc, one_statement, utcnow, write_transaction
from caucus.ledger.epochs import counted
from caucus.ledger.model import entry_from_row
from caucus.ledger.schema import audit_log, credentials, ledger_entries, precincts, sessions, signin_attempts
from caucus.ledger.state import PrecinctState, derive_state
from caucus.service.context import ElectionContext
from caucus.service.errors import (
    FieldProblem,
    ServiceError,
    SessionExpired,
    SessionInvalid,
    SessionRevoked,
    SignInFailed,
    TooManySignIns,
    clock_time,
)
from caucus.service.limits import CHAIR_RULES, Reservation, Throttled, ThrottleRules, Throttles

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256
MAX_CLIENT_LENGTH = 100
DEFAULT_SESSION_TTL = timedelta(hours=12)
#: why a chair signs in: to report, or to test the credential before caucus night (readiness)
SignInPurpose = Literal["report", "test"]


class CredentialMalformed(ServiceError):
    code = "credential-malformed"

    def __init__(self, hotline_code: bool = False) -> None:
        shape = "-".join(["XXXX"] * GROUPS)
        message = (f"a credential is {GROUPS} groups of {GROUP_LENGTH} letters and digits ({shape}) without "
                   "0, 1, I, L, O or U; check the credential card")
        if hotline_code:
            message = (f"this is the card's hotline code ({HOTLINE_GROUPS} groups), which only the hotline "
                       f"operator can check; sign in with the app credential ({GROUPS} groups, {shape})")
        super().__init__(message, [FieldProblem("credential", self.code, message)])


@dataclass(frozen=True)
class ChairSession:
    """A signed-in precinct chair."""

    session_id: int
    election: str
    precinct: str
    expires_at: datetime

    @property
    def actor(self) -> str:
        return f"chair:{self.precinct}"


@dataclass(frozen=True)
class SignedIn:
    token: str
    session: ChairSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_token(token: str) -> None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise SessionInvalid("this session token is not valid; sign in again")


#: the session of a token hash (built once: every chair request runs it)
_SESSION_COLUMNS = (sessions.c.id.label("session_id"), sessions.c.election_id.label("session_election_id"),
                    sessions.c.expires_at, sessions.c.revoked_at, credentials.c.status,
                    precincts.c.code.label("precinct_code"))
_SESSION_FROM = (sessions.join(precincts, precincts.c.id == sessions.c.precinct_id)
                 .join(credentials, credentials.c.id == sessions.c.credential_id))
_SESSION = select(*_SESSION_COLUMNS).select_from(_SESSION_FROM).where(sessions.c.token_hash == bindparam("token_hash"))
_ELECTION: BindParameter[int] = bindparam("election_id")
#: the session of a token hash and, on each row, one of its precinct's entries that count (none: one row with
#: NULL entry columns), in seq order: a stage report's two reads in one statement (one connection, one snapshot;
#: issue 15). The epoch's line is an uncorrelated scalar subquery: computed once.
_SESSION_AND_ENTRIES = (
    select(*_SESSION_COLUMNS, *(c for c in ledger_entries.c if c.name not in ("election_id", "precinct_id")))
    .select_from(_SESSION_FROM.outerjoin(ledger_entries, and_(ledger_entries.c.election_id == _ELECTION,
                                                              ledger_entries.c.precinct_id == sessions.c.precinct_id,
                                                              counted(ledger_entries.c.seq, _ELECTION))))
    .where(sessions.c.token_hash == bindparam("token_hash"))
    .order_by(ledger_entries.c.seq))
#: (run on the DB-API connection: SQLAlchemy's execution machinery cost more than this read, caucus.ledger.db.RawRead)
_SESSION_AND_ENTRIES_READ = RawRead(_SESSION_AND_ENTRIES)


class SessionService:
    """Sign in, authenticate and sign out precinct chairs of one election."""

    def __init__(
        self,
        engine: Engine,
        context: ElectionContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        rules: ThrottleRules = CHAIR_RULES,
        ttl: timedelta = DEFAULT_SESSION_TTL,
    ) -> None:
        self.engine = engine
        self.context = context
        self.clock = clock
        self.throttles = Throttles(engine, "chair", context.election_id, rules)
        self.ttl = ttl

    @cached_property
    def _decoy_hash(self) -> str:
        # Verified against when a precinct has no active credential, so the answer takes as long as usual.
        return DEFAULT_COST.hasher().hash(secrets.token_hex(16))

    # -- sign in -------------------------------------------------------------------------------------
    def sign_in(self, precinct: str, credential: str, client: str, purpose: SignInPurpose = "report") -> SignedIn:
        """Check the throttles, then the credential; on success open a session.

        ``precinct`` is matched without regard to case and spaces (the session carries the plan's code).
        ``purpose`` ``test`` is a chair trying the credential before caucus night: the session opens as usual
        and the audit event is ``session.test`` (HQ's readiness, :func:`sign_in_tests`) instead of
        ``session.create``.

        Raises UnknownPrecinctCode, CredentialMalformed, TooManySignIns (this address, or this address for
        this precinct, failed too often lately) or SignInFailed (the message never says which part was wrong).
        """
        now = self.clock()
        info = self.context.precinct(precinct)
        normalized = normalize_secret(credential)
        if normalized is None:
            raise CredentialMalformed(hotline_code=normalize_hotline_code(credential) is not None)
        client = client[:MAX_CLIENT_LENGTH] or "unknown"
        with write_transaction(self.engine) as conn:
            reserved = self.throttles.reserve(conn, info.code, client, now)
            if isinstance(reserved, Throttled):
                self._refused(conn, info.code, client, now, "client-limited", throttled=reserved)
        if isinstance(reserved, Throttled):
            whose = "from this network address" if reserved.scope == "client" else \
                f"for precinct {info.code} from this network address"
            hotline = self.context.plan.settings.hotline_text
            raise TooManySignIns(f"too many failed sign-ins {whose} ({reserved.failures} in the last hour)",
                                 reserved.until, now, "check the credential card; call the hotline"
                                 f"{f' ({hotline})' if hotline else ''} if you need help now")
        with self.engine.connect() as conn:
            active = conn.execute(
                select(credentials.c.id, credentials.c.secret_hash)
                .join(precincts, precincts.c.id == credentials.c.precinct_id)
                .where(precincts.c.election_id == self.context.election_id, precincts.c.code == info.code,
                       credentials.c.status == "active")
            ).first()
        matched = self._verify(active.secret_hash if active is not None else None, normalized)
        if active is None or not matched:
            with write_transaction(self.engine) as conn:
                self._refused(conn, info.code, client, now, "bad-credential", throttled=None)
            raise SignInFailed("the precinct code and credential do not match an active credential; check both "
                               "against your credential card and try again")
        return self._open(info.code, active.id, client, now, purpose=purpose, reservation=reserved)

    def _verify(self, stored: str | None, normalized: str) -> bool:
        try:
            matched = PasswordHasher().verify(stored or self._decoy_hash, normalized)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored is not None

    def _refused(self, conn: Connection, precinct: str, client: str, now: datetime, outcome: str, *,
                 throttled: Throttled | None) -> None:
        conn.execute(signin_attempts.insert().values(
            election_id=self.context.election_id, precinct_code=precinct, client=client, at=now, ok=False,
            outcome=outcome,
        ))
        if outcome == "bad-credential":  # HQ's readiness counts these: same transaction
            precinct_id = conn.execute(select(precincts.c.id).where(
                precincts.c.election_id == self.context.election_id, precincts.c.code == precinct)).scalar_one()
            readiness.mark(conn, self.context.election_id, precinct_id, failed=1)
        detail: dict[str, object] = {"precinct": precinct, "client": client}
        if throttled is not None:
            detail |= {"throttle": throttled.scope, "failures": throttled.failures,
                       "retry_after": throttled.retry_after(now)}
        audit.record(conn, election_id=self.context.election_id, at=now, actor=f"client:{client}",
                     action="session.create", detail=detail,
                     outcome="rejected:throttled" if throttled is not None else f"rejected:{outcome}")

    def _open(self, precinct: str, credential_id: int, client: str, now: datetime, *,
              purpose: SignInPurpose, reservation: Reservation) -> SignedIn:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + self.ttl
        with write_transaction(self.engine) as conn:
            precinct_id = conn.execute(
                select(precincts.c.id).where(precincts.c.election_id == self.context.election_id,
                                             precincts.c.code == precinct)
            ).scalar_one()
            session_id = conn.execute(
                sessions.insert().values(
                    election_id=self.context.election_id, precinct_id=precinct_id, credential_id=credential_id,
                    token_hash=token_hash(token), created_at=now, expires_at=expires_at, revoked_at=None,
                ).returning(sessions.c.id)
            ).scalar_one()
            conn.execute(signin_attempts.insert().values(
                election_id=self.context.election_id, precinct_code=precinct, client=client, at=now,
                ok=True, outcome="ok",
            ))
            self.throttles.succeeded(conn, reservation, now)
            readiness.mark(conn, self.context.election_id, precinct_id, signed_in=True, tested=purpose == "test")
            audit.record(
                conn, election_id=self.context.election_id, at=now, actor=f"chair:{precinct}",
                action="session.test" if purpose == "test" else "session.create",
                detail={"precinct": precinct, "session": session_id, "client": client,
                        "expires_at": iso_utc(expires_at), "purpose": purpose},
                outcome="ok",
            )
        return SignedIn(token, ChairSession(session_id, self.context.slug, precinct, expires_at))

    # -- authenticate and sign out -------------------------------------------------------------------
    def authenticate(self, token: str) -> ChairSession:
        """The session of a bearer token; raises SessionInvalid, SessionRevoked or SessionExpired."""
        _check_token(token)
        with one_statement(self.engine) as conn:
            row = conn.execute(_SESSION, {"token_hash": token_hash(token)}).first()
        return self._session(row)

    def authenticate_with_state(self, token: str) -> tuple[ChairSession, PrecinctState]:
        """:meth:`authenticate` and the state of the session's precinct (from its entries that count), read in one
        statement: a stage report's reads (issue 15). Raises as :meth:`authenticate`."""
        _check_token(token)
        rows = _SESSION_AND_ENTRIES_READ.all(self.engine, {"token_hash": token_hash(token),
                                                          "election_id": self.context.election_id})
        session = self._session(rows[0] if rows else None)
        found = [entry_from_row(row._asdict(), self.context.slug) for row in rows if row.seq is not None]
        return session, derive_state(self.context.slug, session.precinct, found)

    def _session(self, row: Any) -> ChairSession:
        """The session of a looked-up row (None: no such token), checked in the order authenticate always has."""
        if row is None or row.session_election_id != self.context.election_id:
            raise SessionInvalid("this session token is not valid; sign in again")
        if row.revoked_at is not None:
            raise SessionRevoked(f"this session was signed out at {clock_time(row.revoked_at)}; sign in again")
        if row.status != "active":
            raise SessionRevoked("the credential this session was signed in with has been revoked or replaced; "
                                 "sign in again with the new credential")
        now = self.clock()
        if now >= row.expires_at:
            raise SessionExpired(f"this session expired at {clock_time(row.expires_at)}; sign in again")
        return ChairSession(row.session_id, self.context.slug, row.precinct_code, row.expires_at)

    def sign_out(self, session: ChairSession) -> None:
        """End the session (idempotent)."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(sessions).where(sessions.c.id == session.session_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if result.rowcount:
                audit.record(
                    conn, election_id=self.context.election_id, at=now, actor=session.actor,
                    action="session.revoke", detail={"precinct": session.precinct, "session": session.session_id},
                    outcome="ok",
                )


def sign_in_tests(engine: Engine, election_id: int) -> dict[str, datetime]:
    """Readiness: the precincts whose chair has tested their sign-in, with the time of the latest test."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, func.max(audit_log.c.at))
            .where(audit_log.c.election_id == election_id, audit_log.c.action == "session.test",
                   audit_log.c.outcome == "ok")
            .group_by(audit_log.c.actor)
        ).all()
    return {str(actor).removeprefix("chair:"): at for actor, at in rows}

"""Headquarters staff: accounts (argon2id passwords), cookie sessions, CSRF tokens, sign-in limits, audit.

- A session token is 32 random bytes; only its SHA-256 hash is stored (``staff_sessions``). Every sign-in
  opens a NEW session (and ends the one the browser still carried), so a planted session id is useless.
- A session ends after ``idle`` without a request or ``absolute`` after sign-in, whichever comes first.
- The CSRF token is derived from the session token (``sha256("csrf:" + token)``): a synchronizer token bound
  to the session, never stored, different for every session.
- Every attempt is recorded in ``staff_signin_attempts`` and every refused one in the audit log. Guessing is
  throttled per client address and per (username, address) with growing delays, never per account alone
  (:mod:`caucus.service.limits`): failures from other addresses never stop the right password.
- Every staff action writes an audit event with the actor ``<role>:<username>``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal, cast, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update

from caucus.ledger import audit
from caucus.ledger.db import iso_utc, utcnow, write_transaction
from caucus.ledger.schema import staff_sessions, staff_signin_attempts, staff_users
from caucus.service.errors import SessionExpired, SessionInvalid, SessionRevoked, TooManySignIns, clock_time
from caucus.service.hq_errors import (
    CsrfRejected,
    StaffInputInvalid,
    StaffSignInFailed,
    StaffUserExists,
    UnknownStaffUser,
)
from caucus.service.limits import STAFF_RULES, Reservation, Throttled, ThrottleRules, Throttles
from caucus.service.passwords import password_problem

StaffRole = Literal["admin", "operator", "reviewer", "director", "observer", "campaign"]
STAFF_ROLE_NAMES: tuple[StaffRole, ...] = get_args(StaffRole)
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256
USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
#: last_seen_at is written at most this often per session (idle expiry is accurate to this)
TOUCH_EVERY = timedelta(seconds=30)
BAD_PASSWORD = "bad-password"


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: StaffRole
    status: str
    created_at: datetime
    #: the preference group (candidate) a ``campaign`` account is scoped to; None for every other role
    campaign: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"


@dataclass(frozen=True)
class StaffSession:
    session_id: int
    user: StaffUser
    expires_at: datetime
    csrf_token: str

    @property
    def actor(self) -> str:
        return self.user.actor

    @property
    def role(self) -> StaffRole:
        return self.user.role


@dataclass(frozen=True)
class StaffSignedIn:
    token: str
    session: StaffSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF token of the session whose token is ``token``."""
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()


def _check_password(password: str, username: str, display_name: str) -> None:
    problem = password_problem(password, username=username, name=display_name)
    if problem is not None:
        raise StaffInputInvalid("password", problem)


def _end_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    return conn.execute(update(staff_sessions).where(staff_sessions.c.user_id == user_id,
                                                     staff_sessions.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount


def _keep_an_admin(conn: Connection, row: Any, doing: str) -> None:
    """Refuse to leave HQ without an active admin (the CLI can always add one: ``caucus staff add``)."""
    if row.role != "admin" or row.status != "active":
        return
    others = conn.execute(select(staff_users.c.id).where(staff_users.c.role == "admin",
                                                         staff_users.c.status == "active",
                                                         staff_users.c.id != row.id).limit(1)).first()
    if others is None:
        raise StaffInputInvalid("username", f"cannot {doing} {row.username}: it is the only active admin account; "
                                            "add another admin first")


def _user(row: Any) -> StaffUser:
    return StaffUser(row.id, row.username, row.display_name, cast(StaffRole, row.role), row.status, row.created_at,
                     row.campaign)


def role_phrase(role: str, campaign: str | None) -> str:
    """A role as a sentence says it: "an operator", "a reviewer", "the Chen campaign's account"."""
    if campaign:
        return f"the {campaign} campaign's account"
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"


def _campaign_of(role: str, campaign: str | None, groups: tuple[str, ...] | None) -> str | None:
    """The preference group of a ``campaign`` account (required, one of ``groups`` when known); None for
    every other role (which must not name one)."""
    campaign = (campaign or "").strip()
    if role != "campaign":
        if campaign:
            raise StaffInputInvalid("campaign", f"only a campaign account is scoped to a preference group; "
                                                f"{role_phrase(role, None)}'s account sees every group (leave the "
                                                f"campaign empty)")
        return None
    if not campaign:
        raise StaffInputInvalid("campaign", "a campaign account needs its preference group (the candidate whose "
                                            "campaign it is: --campaign on the command line)")
    if groups is not None:
        match = next((g for g in groups if g.casefold() == campaign.casefold()), None)
        if match is None:
            raise StaffInputInvalid("campaign", f"the campaign must be one of this election's preference groups "
                                                f"({', '.join(groups)}); got {campaign!r}")
        return match
    return campaign[:100]


class StaffService:
    """Staff accounts, sign-in, sessions and the audit trail of staff actions."""

    def __init__(
        self,
        engine: Engine,
        *,
        election_id: int | None = None,
        clock: Callable[[], datetime] = utcnow,
        rules: ThrottleRules = STAFF_RULES,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=12),
        hasher: PasswordHasher | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> None:
        self.engine = engine
        self.election_id = election_id
        #: the election's preference groups: a campaign account must be scoped to one of them
        self.groups = groups
        self.clock = clock
        self.throttles = Throttles(engine, "staff", None, rules)
        self.idle = idle
        self.absolute = absolute
        self.hasher = hasher or PasswordHasher()  # argon2id with the library's (RFC 9106) defaults

    @cached_property
    def _decoy_hash(self) -> str:
        return self.hasher.hash(secrets.token_hex(16))

    # -- accounts ----------------------------------------------------------------------------------------
    def add_user(self, username: str, display_name: str, role: str, password: str, *, actor: str,
                 campaign: str | None = None) -> StaffUser:
        """Create an account (a ``campaign`` account names its preference group in ``campaign``); raises
        StaffInputInvalid (naming the field) or StaffUserExists."""
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise StaffInputInvalid("username", "a username is 2-64 characters: a lowercase letter, then lowercase "
                                                "letters, digits, '.', '_' or '-'")
        if role not in STAFF_ROLE_NAMES:
            raise StaffInputInvalid("role", f"role must be one of {', '.join(STAFF_ROLE_NAMES)}; got {role!r}")
        group = _campaign_of(role, campaign, self.groups)
        display_name = display_name.strip() or username
        _check_password(password, username, display_name)
        now = self.clock()
        with write_transaction(self.engine) as conn:
            if conn.execute(select(staff_users.c.id).where(staff_users.c.username == username)).first():
                raise StaffUserExists(f"there is already a staff account {username!r}")
            user_id = conn.execute(staff_users.insert().values(
                username=username, display_name=display_name[:200], role=role,
                password_hash=self.hasher.hash(password), status="active", created_at=now, disabled_at=None,
                campaign=group,
            ).returning(staff_users.c.id)).scalar_one()
            detail = {"username": username, "role": role} | ({"campaign": group} if group else {})
            self._audit(conn, actor, "staff.add", detail, "ok", now=now)
        return StaffUser(user_id, username, display_name, role, "active", now, group)

    def list_users(self) -> list[StaffUser]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(staff_users).order_by(staff_users.c.username))]

    def disable_user(self, username: str, *, actor: str) -> StaffUser:
        """Disable an account and end its sessions; raises UnknownStaffUser, or StaffInputInvalid for the
        last active admin."""
        def change(conn: Connection, row: Any, now: datetime) -> tuple[dict[str, Any], str]:
            if row.status != "active":
                return {}, "already-disabled"
            _keep_an_admin(conn, row, "disable")
            conn.execute(update(staff_users).where(staff_users.c.id == row.id).values(status="disabled",
                                                                                       disabled_at=now))
            _end_sessions(conn, row.id, now)
            return {}, "ok"

        return self._change(username, "staff.disable", change, actor=actor)

    def enable_user(self, username: str, *, actor: str) -> StaffUser:
        """Enable a disabled account (its old sessions stay ended); raises UnknownStaffUser."""
        def change(conn: Connection, row: Any, now: datetime) -> tuple[dict[str, Any], str]:
            if row.status == "active":
                return {}, "already-active"
            conn.execute(update(staff_users).where(staff_users.c.id == row.id).values(status="active",
                                                                                       disabled_at=None))
            return {}, "ok"

        return self._change(username, "staff.enable", change, actor=actor)

    def reset_password(self, username: str, password: str, *, actor: str) -> StaffUser:
        """Set a new password (the rule of :mod:`caucus.service.passwords`) and end the account's sessions.
        Raises UnknownStaffUser or StaffInputInvalid (field ``password``)."""
        user = self.get_user(username)
        _check_password(password, user.username, user.display_name)
        password_hash = self.hasher.hash(password)

        def change(conn: Connection, row: Any, now: datetime) -> tuple[dict[str, Any], str]:
            conn.execute(update(staff_users).where(staff_users.c.id == row.id).values(password_hash=password_hash))
            return {"sessions_ended": _end_sessions(conn, row.id, now)}, "ok"

        return self._change(username, "staff.reset-password", change, actor=actor)

    def change_role(self, username: str, role: str, *, actor: str, campaign: str | None = None) -> StaffUser:
        """Give the account another role (its open sessions have the new role from their next request); a
        ``campaign`` role names its preference group in ``campaign``. Raises UnknownStaffUser, or
        StaffInputInvalid for an unknown role or group or the last active admin."""
        if role not in STAFF_ROLE_NAMES:
            raise StaffInputInvalid("role", f"role must be one of {', '.join(STAFF_ROLE_NAMES)}; got {role!r}")
        group = _campaign_of(role, campaign, self.groups)

        def change(conn: Connection, row: Any, now: datetime) -> tuple[dict[str, Any], str]:
            if row.role == role and row.campaign == group:
                return {"role": role}, "unchanged"
            if role != "admin":
                _keep_an_admin(conn, row, "change the role of")
            conn.execute(update(staff_users).where(staff_users.c.id == row.id).values(role=role, campaign=group))
            return {"from": row.role, "role": role} | ({"campaign": group} if group else {}), "ok"

        return self._change(username, "staff.role", change, actor=actor)

    def lift_throttle(self, username: str, client: str = "", *, actor: str) -> int:
        """Let ``username``'s sign-ins through again (from ``client`` only, if given): clears the failures that
        count towards the staff sign-in throttles; audited as ``throttle.lift``. Returns how many cleared."""
        username, client = username.strip().lower(), client.strip()
        if not username:
            raise StaffInputInvalid("username", "name the account whose sign-ins to let through")
        now = self.clock()
        cleared = self.throttles.lift(target=username, client=client or None, now=now, by=actor)
        self.record(actor, "throttle.lift", {"kind": "staff", "target": username, "client": client,
                                             "failures_cleared": cleared}, "ok" if cleared else "nothing-to-lift")
        return cleared

    def _change(self, username: str, action: str,
                change: Callable[[Connection, Any, datetime], tuple[dict[str, Any], str]], *, actor: str) -> StaffUser:
        username = username.strip().lower()
        now = self.clock()
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(staff_users).where(staff_users.c.username == username)).first()
            if row is None:
                raise UnknownStaffUser(f"there is no staff account {username!r}")
            detail, outcome = change(conn, row, now)
            self._audit(conn, actor, action, {"username": username, **detail}, outcome, now=now)
        return self.get_user(username)

    def get_user(self, username: str) -> StaffUser:
        username = username.strip().lower()
        with self.engine.connect() as conn:
            row = conn.execute(select(staff_users).where(staff_users.c.username == username)).first()
        if row is None:
            raise UnknownStaffUser(f"there is no staff account {username!r}")
        return _user(row)

    # -- sign in -----------------------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, client: str, *, replacing: str | None = None) -> StaffSignedIn:
        """Check the throttles, then the password; open a new session (ending ``replacing``, the token the
        browser carried, if any). Raises TooManySignIns or StaffSignInFailed."""
        now = self.clock()
        username = username.strip().lower()[:64]
        client = client[:100] or "unknown"
        with write_transaction(self.engine) as conn:
            reserved = self.throttles.reserve(conn, username, client, now)
            if isinstance(reserved, Throttled):
                self._attempt(conn, username, client, now, "client-limited", throttled=reserved)
        if isinstance(reserved, Throttled):
            whose = "from this network address" if reserved.scope == "client" else \
                f"for account {username} from this network address"
            raise TooManySignIns(f"too many failed sign-ins {whose} ({reserved.failures} in the last hour)",
                                 reserved.until, now, "ask an admin if you need help now")
        with self.engine.connect() as conn:
            row = conn.execute(select(staff_users).where(staff_users.c.username == username)).first()
        stored = row.password_hash if row is not None and row.status == "active" else None
        if not self._verify(stored, password):
            with write_transaction(self.engine) as conn:
                self._attempt(conn, username, client, now, BAD_PASSWORD, throttled=None)
            raise StaffSignInFailed("the username and password do not match an active staff account")
        assert row is not None
        return self._open(_user(row), client, now, replacing, reserved)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._decoy_hash, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def _attempt(self, conn: Connection, username: str, client: str, now: datetime, outcome: str, *,
                 throttled: Throttled | None) -> None:
        conn.execute(staff_signin_attempts.insert().values(username=username, client=client, at=now,
                                                           outcome=outcome))
        detail: dict[str, Any] = {"username": username, "client": client}
        if throttled is not None:
            detail |= {"throttle": throttled.scope, "failures": throttled.failures,
                       "retry_after": throttled.retry_after(now)}
        self._audit(conn, f"staff:{username}", "staff.sign-in", detail,
                    "rejected:throttled" if throttled is not None else f"rejected:{outcome}", now=now)

    def _open(self, user: StaffUser, client: str, now: datetime, replacing: str | None,
              reservation: Reservation) -> StaffSignedIn:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = now + self.absolute
        with write_transaction(self.engine) as conn:
            if replacing and len(replacing) <= MAX_TOKEN_LENGTH:
                conn.execute(update(staff_sessions).where(staff_sessions.c.token_hash == _hash(replacing),
                                                          staff_sessions.c.revoked_at.is_(None))
                             .values(revoked_at=now))
            session_id = conn.execute(staff_sessions.insert().values(
                user_id=user.id, token_hash=_hash(token), client=client, created_at=now, last_seen_at=now,
                expires_at=expires_at, revoked_at=None,
            ).returning(staff_sessions.c.id)).scalar_one()
            conn.execute(staff_signin_attempts.insert().values(username=user.username, client=client, at=now,
                                                               outcome="ok"))
            self.throttles.succeeded(conn, reservation, now)
            self._audit(conn, user.actor, "staff.sign-in",
                        {"session": session_id, "client": client, "expires_at": iso_utc(expires_at)}, "ok", now=now)
        return StaffSignedIn(token, StaffSession(session_id, user, expires_at, csrf_token_for(token)))

    # -- sessions ----------------------------------------------------------------------------------------
    def authenticate(self, token: str) -> StaffSession:
        """The session of a cookie token; raises SessionInvalid, SessionRevoked or SessionExpired."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise SessionInvalid("this staff session is not valid; sign in again")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(staff_sessions.c.id.label("session_id"), staff_sessions.c.last_seen_at,
                       staff_sessions.c.expires_at, staff_sessions.c.revoked_at, staff_users)
                .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
                .where(staff_sessions.c.token_hash == _hash(token))
            ).first()
        if row is None:
            raise SessionInvalid("this staff session is not valid; sign in again")
        if row.revoked_at is not None:
            raise SessionRevoked(f"this session was ended at {clock_time(row.revoked_at)}; sign in again")
        if row.status != "active":
            raise SessionRevoked("this staff account is disabled")
        now = self.clock()
        if now >= row.expires_at:
            raise SessionExpired(f"this session expired at {clock_time(row.expires_at)}; sign in again")
        if now >= row.last_seen_at + self.idle:
            raise SessionExpired(f"this session ended after {round(self.idle.total_seconds() / 60)} minutes "
                                 "without activity; sign in again")
        if now - row.last_seen_at >= TOUCH_EVERY:
            with write_transaction(self.engine) as conn:
                conn.execute(update(staff_sessions).where(staff_sessions.c.id == row.session_id)
                             .values(last_seen_at=now))
        return StaffSession(row.session_id, _user(row), row.expires_at, csrf_token_for(token))

    def sign_out(self, session: StaffSession) -> None:
        now = self.clock()
        with write_transaction(self.engine) as conn:
            ended = conn.execute(update(staff_sessions).where(staff_sessions.c.id == session.session_id,
                                                              staff_sessions.c.revoked_at.is_(None))
                                 .values(revoked_at=now)).rowcount
            self._audit(conn, session.actor, "staff.sign-out", {"session": session.session_id},
                        "ok" if ended else "already-ended", now=now)

    def check_csrf(self, session: StaffSession, given: str | None, *, method: str, path: str) -> None:
        """Raise CsrfRejected (and audit it) unless ``given`` is the session's CSRF token."""
        if given and hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf_token.encode()):
            return
        why = "missing" if not given else "wrong"
        self.record(session.actor, "csrf.reject", {"method": method, "path": path, "token": why}, "rejected")
        raise CsrfRejected(f"this form's security token is {why}; reload the page and submit it again")

    # -- audit -------------------------------------------------------------------------------------------
    def record(self, actor: str, action: str, detail: Mapping[str, Any], outcome: str = "ok") -> None:
        """One audit event for a staff action."""
        with write_transaction(self.engine) as conn:
            self._audit(conn, actor, action, detail, outcome, now=self.clock())

    def _audit(self, conn: Any, actor: str, action: str, detail: Mapping[str, Any], outcome: str, *,
               now: datetime) -> None:
        audit.record(conn, election_id=self.election_id, at=now, actor=actor, action=action, detail=detail,
                     outcome=outcome)

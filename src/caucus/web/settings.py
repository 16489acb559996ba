"""The web app's settings: one typed object read from ``CAUCUS_*`` environment variables.

Nothing is read at import time. :func:`load_settings` reads the environment and fails fast with one
:class:`SettingsError` naming every bad variable and why.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from caucus.publish.bulk import DEFAULT_INTERVAL as BULK_DEFAULT
from caucus.publish.bulk import MAX_INTERVAL as BULK_MAX
from caucus.service.limits import CHAIR_RULES, HOTLINE_RULES, STAFF_RULES, Backoff, ThrottleRules
from caucus.web.clients import TrustedProxies

ENV_PREFIX = "CAUCUS_"
DEFAULT_DATABASE_URL = "sqlite:///./var/caucus.db"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_DAY = 24 * 3600


class SettingsError(ValueError):
    """Invalid settings; the message names each variable, its value and the rule it breaks."""


class Settings(BaseSettings):
    """Settings of one app process (every field can be set as ``CAUCUS_<FIELD NAME IN CAPITALS>``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    #: ``sqlite:///path/caucus.db`` (embedded) or ``postgresql://user@host/db`` (production)
    database_url: str = DEFAULT_DATABASE_URL
    #: slug of the election served; None: the only election in the database
    election: str | None = None
    #: how long a chair's sign-in lasts
    session_ttl_seconds: int = Field(12 * 3600, ge=60, le=7 * _DAY)
    #: the proxies whose X-Forwarded-For is believed: comma- or space-separated addresses or CIDR networks
    #: (``127.0.0.1,::1`` for the nginx of deploy/ on the same host); empty (the default): none, every
    #: client is the address that connected (docs/operations.md, "Client addresses")
    trusted_proxies: str = ""
    #: sign-in throttles (docs/api.md, "Sign-in throttles"): failures within the window count; a client
    #: (address, or hotline operator) gets this many free, a (precinct or account, client) pair this many,
    #: then each further attempt waits twice as long as the last, up to the maximum delay
    throttle_window_seconds: int = Field(3600, ge=60, le=7 * _DAY)
    signin_client_free_failures: int = Field(CHAIR_RULES.per_client.free, ge=1, le=1_000_000)
    signin_pair_free_failures: int = Field(CHAIR_RULES.per_pair.free, ge=1, le=1000)
    signin_max_delay_seconds: int = Field(int(CHAIR_RULES.per_pair.cap.total_seconds()), ge=1, le=_DAY)
    hotline_operator_free_failures: int = Field(HOTLINE_RULES.per_client.free, ge=1, le=1_000_000)
    hotline_pair_free_failures: int = Field(HOTLINE_RULES.per_pair.free, ge=1, le=1000)
    hotline_max_delay_seconds: int = Field(int(HOTLINE_RULES.per_pair.cap.total_seconds()), ge=1, le=_DAY)
    #: requests with a larger body are refused (413) before it is read
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: database connections this process keeps (sync routes run on up to 40 threads; with several workers on
    #: PostgreSQL keep workers x (pool + overflow) under the server's max_connections). Overflow connections are
    #: closed when returned and opened again at the next peak (on SQLite each new connection re-reads the
    #: schema; on PostgreSQL it is a new backend): the default keeps them all (issue 15, benchmarks/RESULTS.md)
    db_pool_size: int = Field(30, ge=1, le=200)
    db_max_overflow: int = Field(0, ge=0, le=200)
    #: where releases are written as files (served by the app or directly by nginx/a CDN); default: a
    #: ``snapshots`` directory beside the SQLite database, or ``./var/snapshots``
    snapshot_dir: Path | None = None
    #: how often (seconds) the continuous-release loop looks for newly accepted precincts, when switched on
    release_interval_seconds: float = Field(1.0, ge=0.05, le=3600)
    #: run the continuous-release loop inside each app worker (the default, one command to run); false when
    #: a separate ``caucus release watch`` process does it, so that building snapshots never competes with
    #: the requests of the app workers (the scale-out layout, deploy/)
    release_in_app: bool = True
    #: seconds between builds of the whole-state files (the NIST export, feed/precincts.json and .csv, ~70 %
    #: of a release's bytes): a release within the interval of the one that built them carries them
    #: unchanged; 0: every release builds them (docs/feed.md, "Whole-state files and the bulk interval")
    bulk_interval: float = BULK_DEFAULT

    #: live-update streams (``/events``) one process holds open per client address and in all; one more is
    #: refused with 429 (the page then polls /feed/v1/latest.json). nginx (deploy/nginx) caps them per
    #: address across the workers too.
    events_per_client: int = Field(10, ge=1, le=100_000)
    events_max: int = Field(2000, ge=1, le=1_000_000)

    #: HQ staff sessions: the cookie is Secure (HTTPS only) unless this is false (local testing over http)
    staff_cookie_secure: bool = True
    #: a staff session ends after this long without a request, and this long after sign-in in any case
    staff_idle_seconds: int = Field(30 * 60, ge=60, le=_DAY)
    staff_absolute_seconds: int = Field(12 * 3600, ge=60, le=7 * _DAY)
    #: staff sign-in throttles (as the chairs': per address, per (username, address))
    staff_client_free_failures: int = Field(STAFF_RULES.per_client.free, ge=1, le=1_000_000)
    staff_pair_free_failures: int = Field(STAFF_RULES.per_pair.free, ge=1, le=1000)
    staff_max_delay_seconds: int = Field(int(STAFF_RULES.per_pair.cap.total_seconds()), ge=1, le=_DAY)

    @field_validator("bulk_interval", mode="before")
    @classmethod
    def _bulk_interval(cls, value: Any) -> float:
        problem = (f"must be a number of seconds from 0 (every release builds the whole-state files) to "
                   f"{BULK_MAX:g}")
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(problem) from None
        if not 0 <= seconds <= BULK_MAX:  # NaN too
            raise ValueError(problem)
        return seconds

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        TrustedProxies.parse(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL; use sqlite:///path/caucus.db or postgresql://user@host/db") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"unsupported database {backend!r}; use sqlite:///... or postgresql://...")
        return value

    @field_validator("election", mode="before")
    @classmethod
    def _election(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and not _SLUG.fullmatch(value):
                raise ValueError("an election slug is 1-64 lowercase letters, digits or dashes")
        return value

    @property
    def snapshots(self) -> Path:
        """The snapshot directory (see ``snapshot_dir``)."""
        if self.snapshot_dir is not None:
            return self.snapshot_dir
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
                and not url.database.startswith("file:"):
            return Path(url.database).parent / "snapshots"
        return Path("var") / "snapshots"

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(seconds=self.session_ttl_seconds)

    @property
    def proxies(self) -> TrustedProxies:
        return TrustedProxies.parse(self.trusted_proxies)

    def _rules(self, default: ThrottleRules, client_free: int, pair_free: int, max_delay: int) -> ThrottleRules:
        window, cap = timedelta(seconds=self.throttle_window_seconds), timedelta(seconds=max_delay)
        return ThrottleRules(
            per_client=Backoff(client_free, default.per_client.base, min(cap, window), window),
            per_pair=Backoff(pair_free, default.per_pair.base, min(cap, window), window),
        )

    @property
    def signin_rules(self) -> ThrottleRules:
        return self._rules(CHAIR_RULES, self.signin_client_free_failures, self.signin_pair_free_failures,
                           self.signin_max_delay_seconds)

    @property
    def hotline_rules(self) -> ThrottleRules:
        return self._rules(HOTLINE_RULES, self.hotline_operator_free_failures, self.hotline_pair_free_failures,
                           self.hotline_max_delay_seconds)

    @property
    def staff_rules(self) -> ThrottleRules:
        return self._rules(STAFF_RULES, self.staff_client_free_failures, self.staff_pair_free_failures,
                           self.staff_max_delay_seconds)

    @property
    def staff_idle(self) -> timedelta:
        return timedelta(seconds=self.staff_idle_seconds)

    @property
    def staff_absolute(self) -> timedelta:
        return timedelta(seconds=self.staff_absolute_seconds)


def _shown(field: str, value: Any) -> str:
    if field == "database_url" and isinstance(value, str):
        try:
            return repr(make_url(value).render_as_string(hide_password=True))
        except ArgumentError:
            return repr(value)
    return repr(value)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        name = ENV_PREFIX + field.upper()
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            lines.append(f"{name}: no such setting")
        else:
            lines.append(f"{name}={_shown(field, problem.get('input'))}: {message}")
    return "invalid settings: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (``overrides`` win); raises SettingsError on a bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None

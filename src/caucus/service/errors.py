"""The service layer's typed errors. Each has a stable ``code`` (kebab-case), an exact ``message`` naming the
values involved, and optional per-field problems. HTTP statuses are not decided here: the web layer maps
every error class to one status in one place (``caucus.web.errors``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from caucus.plans.settings import PlanSettings


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field, e.g. ``counts.Sanders``."""

    field: str
    code: str
    message: str


class ServiceError(Exception):
    """Base class of every error the service layer raises on purpose."""

    code = "service-error"

    def __init__(self, message: str, fields: Iterable[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields: tuple[FieldProblem, ...] = tuple(fields)


#: the plan settings whose time zone messages use (set per request by the web app for its election's plan;
#: unset: UTC). A context variable, so that it follows each request and never leaks between elections.
DISPLAY_SETTINGS: ContextVar[PlanSettings | None] = ContextVar("caucus_display_settings", default=None)


def clock_time(moment: datetime) -> str:
    """``7:42 pm CST``: a time a person on the phone can read back, in the plan's time zone when a request
    set it (:data:`DISPLAY_SETTINGS`); ``01:42 UTC`` otherwise."""
    settings = DISPLAY_SETTINGS.get()
    if settings is None:
        return moment.strftime("%H:%M UTC")
    return settings.clock(moment)


def about(delta: timedelta) -> str:
    """``about 15 minutes`` (rounded up to whole minutes; at least 1)."""
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


# -- configuration -------------------------------------------------------------------------------------


class ElectionNotServable(ServiceError):
    """The database has no election to serve, several and none chosen, or one whose plan cannot be used."""

    code = "election-not-servable"


# -- signing in ----------------------------------------------------------------------------------------


class UnknownPrecinctCode(ServiceError):
    code = "unknown-precinct"

    def __init__(self, election: str, precinct: str, example: str) -> None:
        super().__init__(
            f"election {election} has no precinct {precinct!r}; precinct codes look like {example} "
            "(county/precinct, as printed on your credential card)",
            [FieldProblem("precinct", self.code, f"no precinct {precinct!r} in election {election}")],
        )
        self.precinct = precinct


class SignInFailed(ServiceError):
    """Wrong, revoked or missing credential: the message never says which part was wrong."""

    code = "sign-in-failed"


class TooManySignIns(ServiceError):
    """A throttle (:mod:`caucus.service.limits`) refuses the attempt for now: 429 with Retry-After."""

    code = "too-many-sign-ins"

    def __init__(self, what: str, until: datetime, now: datetime, advice: str) -> None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        wait = f"{seconds} seconds" if seconds < 120 else about(until - now)
        super().__init__(f"{what}: try again after {clock_time(until)} (in {wait}); {advice}")
        self.until = until
        self.retry_after = seconds


class NotSignedIn(ServiceError):
    code = "not-signed-in"


class SessionInvalid(ServiceError):
    """An unknown, expired or signed-out token, or one whose credential was revoked."""

    code = "session-invalid"


class SessionExpired(SessionInvalid):
    code = "session-expired"


class SessionRevoked(SessionInvalid):
    code = "session-revoked"


class Forbidden(ServiceError):
    code = "forbidden"


# -- reporting -----------------------------------------------------------------------------------------


class WrongPrecinct(Forbidden):
    code = "wrong-precinct"

    def __init__(self, session_precinct: str, requested: str) -> None:
        super().__init__(
            f"this session is for precinct {session_precinct}; it cannot report for {requested}",
            [FieldProblem("precinct", self.code, f"must be {session_precinct} (the precinct you signed in for)")],
        )


class InvalidReport(ServiceError):
    code = "invalid-report"


class UnknownCandidates(ServiceError):
    code = "unknown-candidate"

    def __init__(self, problems: Sequence[FieldProblem], candidates: Sequence[str]) -> None:
        names = ", ".join(p.field for p in problems)
        super().__init__(
            f"not a candidate in this election: {names}; the candidates are {', '.join(candidates)}", problems
        )


class StageOutOfOrder(ServiceError):
    code = "stage-out-of-order"


class StageAlreadyReported(ServiceError):
    code = "stage-already-reported"

    def __init__(self, stage: str, seq: int, received_at: datetime) -> None:
        super().__init__(
            f"the {stage} stage was already reported (entry #{seq} at {clock_time(received_at)}); "
            f"to correct it, send supersedes_seq {seq} with a reason",
            [FieldProblem("supersedes_seq", self.code, f"required to correct entry #{seq}")],
        )
        self.seq = seq


class CorrectionInvalid(ServiceError):
    code = "correction-invalid"

    def __init__(self, message: str, field: str = "supersedes_seq") -> None:
        super().__init__(message, [FieldProblem(field, self.code, message)])


class ReportRejected(ServiceError):
    """The checks found blocking problems; nothing was recorded in the ledger."""

    code = "report-rejected"


class LedgerTimeout(ServiceError):
    code = "ledger-timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the ledger did not confirm the write within {seconds:g} s, so the report may or may not be "
            "recorded; send it again with the same Idempotency-Key: that is safe and tells you which"
        )


# -- photos and messages -------------------------------------------------------------------------------


class PhotoRejected(ServiceError):
    """An upload that is not a readable JPEG, PNG or WebP image of an acceptable size."""

    code = "photo-rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message, [FieldProblem("photo", self.code, message)])


class PhotoLimitReached(ServiceError):
    """The precinct already has the most photos one channel may send it (max-photos-per-precinct)."""

    code = "photo-limit"

    def __init__(self, message: str) -> None:
        super().__init__(message, [FieldProblem("photo", self.code, message)])


class PhotoBusy(ServiceError):
    """Every decoding slot of this worker is taken and the queue behind it is full: send again shortly."""

    code = "photo-busy"
    retry_after = 2

    def __init__(self, message: str) -> None:
        super().__init__(message, [FieldProblem("photo", self.code, message)])


class PhotoKeyConflict(ServiceError):
    """The idempotency key was already used for a different photo."""

    code = "idempotency-conflict"

    def __init__(self, key: str, photo_id: int, *, rehearsal: bool = False) -> None:
        if rehearsal:
            message = (f"idempotency key {key!r} belongs to photo #{photo_id}, stored during the rehearsal (before "
                       "the election went live or the rehearsal was reset); it is not used now: send the photo "
                       "again with a new key")
        else:
            message = (f"idempotency key {key!r} was already used by photo #{photo_id} with different content; "
                       "use a new key for a new photo")
        super().__init__(message, [FieldProblem("idempotency_key", self.code, message)])
        self.photo_id = photo_id


class NotFound(ServiceError):
    code = "not-found"


class MessageRejected(ServiceError):
    code = "message-rejected"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, [FieldProblem(field, self.code, message)])

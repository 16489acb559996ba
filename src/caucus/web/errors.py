"""One JSON error shape for every error, and the one place that maps errors to HTTP statuses.

Every error response is ::

    {"error": {"code": "stable-code", "message": "exact human message",
               "fields": [{"field": "counts.Sanders", "code": "...", "message": "..."}]}}

``fields`` is always present (empty when the problem is not about one input field). Codes are stable
kebab-case; docs/api.md lists them. An unexpected exception becomes a 500 with a reference to the server
log and never a traceback.
"""

from __future__ import annotations

import http
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from caucus.ledger import (
    GroupRejected,
    IdempotencyConflict,
    InvalidGroup,
    InvalidSubmission,
    LedgerError,
    SupersessionError,
    UnknownElection,
    UnknownPrecinct,
    WriterClosed,
)
from caucus.ledger.errors import EpochRefused, PrecinctChanged, RehearsalEntry, StageAlreadyRecorded
from caucus.service import (
    CorrectionInvalid,
    CredentialMalformed,
    ElectionNotServable,
    FieldProblem,
    Forbidden,
    InvalidReport,
    LedgerTimeout,
    NotSignedIn,
    ReportRejected,
    ServiceError,
    SessionInvalid,
    SignInFailed,
    StageAlreadyReported,
    StageOutOfOrder,
    TooManySignIns,
    UnknownCandidates,
    UnknownPrecinctCode,
)
from caucus.service.errors import (
    MessageRejected,
    NotFound,
    PhotoBusy,
    PhotoKeyConflict,
    PhotoLimitReached,
    PhotoRejected,
)
from caucus.service.exports import ExportBusy
from caucus.service.golive import EpochChangeRefused
from caucus.service.hq_errors import (
    CallerNotVerified,
    CsrfRejected,
    ReviewActionInvalid,
    StaffInputInvalid,
    StaffUserExists,
    UnknownRecanvass,
    UnknownStaffUser,
)
from caucus.service.releases import NothingToRelease, ReleaseContended, ReleaseInvalid
from caucus.service.roster import RosterInvalid
from caucus.web.validation import describe_validation_errors

log = logging.getLogger("caucus.web")


class ErrorField(BaseModel):
    field: str
    code: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[ErrorField]


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# -- errors raised by the web layer itself ---------------------------------------------------------------


class InvalidRequest(ServiceError):
    code = "invalid-request"


class UnsupportedMediaType(ServiceError):
    code = "unsupported-media-type"


class BodyTooLarge(ServiceError):
    code = "body-too-large"


class DatabaseUnreachable(ServiceError):
    code = "database-unreachable"


#: error class -> HTTP status; the first class the error is an instance of wins (most specific first)
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (InvalidRequest, 422),
    (PhotoRejected, 422),
    (MessageRejected, 422),
    (PhotoKeyConflict, 409),
    (PhotoLimitReached, 409),
    (PhotoBusy, 503),
    (ExportBusy, 429),
    (NotFound, 404),
    (UnsupportedMediaType, 415),
    (BodyTooLarge, 413),
    (DatabaseUnreachable, 503),
    (NotSignedIn, 401),
    (SessionInvalid, 401),
    (SignInFailed, 401),
    (Forbidden, 403),
    (CsrfRejected, 403),
    (CallerNotVerified, 422),
    (StaffInputInvalid, 422),
    (RosterInvalid, 422),
    (StaffUserExists, 409),
    (ReviewActionInvalid, 409),
    (UnknownStaffUser, 404),
    (UnknownRecanvass, 404),
    (ReleaseInvalid, 422),
    (NothingToRelease, 409),
    (ReleaseContended, 503),
    (TooManySignIns, 429),
    (UnknownPrecinctCode, 422),
    (CredentialMalformed, 422),
    (InvalidReport, 422),
    (UnknownCandidates, 422),
    (ReportRejected, 422),
    (StageOutOfOrder, 409),
    (StageAlreadyReported, 409),
    (CorrectionInvalid, 409),
    (LedgerTimeout, 503),
    (ElectionNotServable, 503),
    (IdempotencyConflict, 409),
    (RehearsalEntry, 409),
    (StageAlreadyRecorded, 409),
    (PrecinctChanged, 409),
    (EpochChangeRefused, 409),
    (EpochRefused, 409),
    (GroupRejected, 409),
    (InvalidGroup, 422),
    (SupersessionError, 409),
    (InvalidSubmission, 422),
    (UnknownPrecinct, 422),
    (UnknownElection, 503),
    (WriterClosed, 503),
    (LedgerError, 400),
    (ServiceError, 400),
)

#: codes of the errors that are not exceptions of ours (HTTP-level)
HTTP_CODES = {
    400: "bad-request",
    401: "not-signed-in",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
}


def status_for(error: Exception) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def error_body(code: str, message: str, fields: Iterable[FieldProblem] = ()) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"field": f.field, "code": f.code, "message": f.message} for f in fields],
        }
    }


class ErrorResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so that echoing hostile input (lone surrogates, NUL)
    can never make the error itself fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> ErrorResponse:
    return ErrorResponse(error_body(code, message, fields), status_code=status, headers=dict(headers or {}))


def retry_headers(response: Response, error: ServiceError | LedgerError) -> Response:
    """Give an HTML page answering a throttled attempt (429) the same Retry-After as the JSON answer."""
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def render_error(error: ServiceError | LedgerError) -> ErrorResponse:
    """The response for one of our typed errors."""
    status = status_for(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    elif status == 503:
        headers["Retry-After"] = "5"
    if isinstance(error, ServiceError):
        return error_response(status, error.code, error.message, error.fields, headers)
    fields = [FieldProblem(error.field, error.code.replace("_", "-"), error.message)] if error.field else []
    return error_response(status, error.code.replace("_", "-"), error.message, fields, headers)


async def _typed_error(_request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, ServiceError | LedgerError)
    return render_error(exc)


async def _validation_error(_request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, RequestValidationError)
    message, fields = describe_validation_errors(exc.errors())
    return render_error(InvalidRequest(message, fields))


async def _http_error(request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    code = HTTP_CODES.get(status) or http.HTTPStatus(status).phrase.lower().replace(" ", "-")
    message = exc.detail if isinstance(exc.detail, str) else http.HTTPStatus(status).phrase
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}; the API is described at /api/v1/docs"
    elif status == 405:
        allowed = headers.get("Allow", headers.get("allow", ""))
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed or 'none'}"
    elif status == 400 and exc.__cause__ is not None:
        # FastAPI could not read the body (not UTF-8, nested too deeply, a huge number): the same answer as
        # for malformed JSON, 422 on the field "body"
        cause = exc.__cause__
        if isinstance(cause, RecursionError):
            reason = "it is nested too deeply"
        elif isinstance(cause, ValueError) and "digits" in str(cause):
            reason = "a number in it has more than 4300 digits"
        else:
            reason = str(cause) or type(cause).__name__
        return render_error(InvalidRequest(
            f"the request has 1 problem: the body is not valid JSON: {reason}",
            [FieldProblem("body", "invalid-json", f"is not valid JSON: {reason}")],
        ))
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return error_response(status, code, message, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> ErrorResponse:
    reference = secrets.token_hex(6)
    log.error("unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
    return error_response(
        500,
        "internal-error",
        f"unexpected server error (reference {reference}); the server log has the details. If you were sending "
        "a report, send it again with the same Idempotency-Key: that is safe and tells you whether it was recorded",
    )


async def _database_error(request: Request, exc: Exception) -> ErrorResponse:
    """The database was busy, restarting or unreachable: a 503 to retry, never a 500."""
    reference = secrets.token_hex(6)
    log.warning("database error %s on %s %s: %s", reference, request.method, request.url.path,
                str(exc).splitlines()[0][:300])
    return error_response(
        503, "database-unavailable",
        f"the database did not complete this request (busy or restarting; reference {reference}); send it again "
        "with the same Idempotency-Key: that is safe and tells you whether it was recorded",
        headers={"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""
    app.add_exception_handler(ServiceError, _typed_error)
    app.add_exception_handler(LedgerError, _typed_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the error shape for these statuses."""
    return {
        status: {"model": ErrorBody, "description": http.HTTPStatus(status).phrase}
        for status in sorted({*statuses, 500})
    }

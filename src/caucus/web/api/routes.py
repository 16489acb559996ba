"""The JSON API routes, version 1. Thin: each validates its input, calls one use case, shapes the answer.

Every route declares its access (``access(...)``); errors are raised as typed exceptions and rendered by
:mod:`caucus.web.errors`.
"""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from caucus.web.access import ChairToken, Principal, access, chair_token
from caucus.web.api.convert import correction_out, precinct_out, submit_out
from caucus.web.api.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    CorrectionRequest,
    CorrectionResponse,
    HealthResponse,
    PrecinctOut,
    SessionResponse,
    SignInRequest,
    StageRequest,
    SubmitResponse,
)
from caucus.web.errors import DatabaseUnreachable, UnsupportedMediaType, error_responses
from caucus.web.services import services_of

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
DOCS_PATH = f"{PREFIX}/docs"
#: Swagger UI's static files, from the pinned swagger-ui-py package (Apache-2.0; Swagger UI 5.24.2), found
#: without importing it (only its files are used)
def _swagger_ui() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (a dependency of caucus)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


SWAGGER_UI = _swagger_ui()
#: the docs page's files: Swagger UI and our starter
DOCS_FILES = {
    "swagger-ui.css": (SWAGGER_UI / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (SWAGGER_UI / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "docs.js": (Path(__file__).parent / "static" / "docs.js", "text/javascript; charset=utf-8"),
}

Chair = Annotated[Principal, access("chair")]
#: a chair whose session the route looks up in its own worker thread (caucus.web.access.chair_token)
ChairBearer = Annotated[ChairToken, chair_token()]


async def require_json(request: Request) -> None:  # (async: no worker thread for a header check)
    """415 unless the body is declared as JSON."""
    declared = request.headers.get("content-type")
    media = (declared or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        got = f"got {declared!r}" if declared else "got no Content-Type"
        raise UnsupportedMediaType(f"send the body as JSON with the header Content-Type: application/json ({got})")


JsonBody = Annotated[None, Depends(require_json)]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=128, pattern=IDEMPOTENCY_KEY_PATTERN,
    description="A new random key (a UUID) for each new report; the same key when retrying it.",
)]

router = APIRouter(prefix=PREFIX)


@router.get(
    "/health", tags=["service"], response_model=HealthResponse, dependencies=[access("public")],
    responses=error_responses(503),
)
def health(request: Request) -> HealthResponse:
    """Whether the service is up and its database reachable."""
    services = services_of(request)
    try:
        services.ping()
    except Exception as exc:
        raise DatabaseUnreachable(f"the database does not answer: {type(exc).__name__}") from exc
    return HealthResponse(ok=True, database="reachable", election=services.context.slug)


@router.post(
    "/session", tags=["session"], status_code=201, response_model=SessionResponse,
    dependencies=[access("public")], responses=error_responses(401, 413, 415, 422, 429),
)
def sign_in(request: Request, _json: JsonBody, body: SignInRequest) -> SessionResponse:
    """Sign a precinct chair in with the precinct's credential; returns a bearer token."""
    client = request.client.host if request.client else "unknown"
    signed = services_of(request).sessions.sign_in(body.precinct, body.credential, client, body.purpose)
    return SessionResponse(token=signed.token, precinct=signed.session.precinct,
                           expires_at=signed.session.expires_at)


@router.delete(
    "/session", tags=["session"], status_code=204, response_class=Response, responses=error_responses(401, 403),
)
def sign_out(request: Request, principal: Chair) -> Response:
    """Sign out: the token stops working at once."""
    assert principal.chair is not None
    services_of(request).sessions.sign_out(principal.chair)
    return Response(status_code=204)


@router.post(
    "/reports", tags=["reports"], status_code=201, response_model=SubmitResponse,
    responses={
        200: {"model": SubmitResponse, "description": "A retry of a report already recorded (replayed: true)"},
        **error_responses(401, 403, 409, 413, 415, 422, 503),
    },
)
async def submit_report(
    request: Request,
    chair: ChairBearer,
    _json: JsonBody,
    idempotency_key: IdempotencyKey,
    body: Annotated[StageRequest, Body()],
) -> Response:
    """Report one stage of the precinct's caucus. 201: recorded durably (committed) with its receipt;
    200: a retry of a report already recorded (the original receipt, ``replayed: true``)."""
    report = body.to_report()

    def submit() -> Response:  # the session's lookup, the checks and the durable write: one worker thread
        services = services_of(request)
        # the session and the precinct's entries in one statement (issue 15)
        session, state = services.sessions.authenticate_with_state(chair.token)
        result = services.reports.submit_as_chair(session, report, idempotency_key, state=state)
        return _answer(submit_out(result), 200 if result.replayed else 201)

    return await run_in_threadpool(submit)


def _answer(model: SubmitResponse | CorrectionResponse, status: int) -> Response:
    """``model`` as the JSON answer, serialized once by pydantic-core, without FastAPI validating it again
    (``response_model`` still documents it). Measured (benchmarks/RESULTS.md, issue 15): 0.065 ms against 0.144 ms
    for FastAPI's validate-and-serialize, and 0.089 ms for orjson of the model's dump."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


@router.post(
    "/corrections", tags=["reports"], status_code=201, response_model=CorrectionResponse,
    responses={
        200: {"model": CorrectionResponse, "description": "A retry of a correction already recorded (replayed)"},
        **error_responses(401, 403, 409, 413, 415, 422, 503),
    },
)
async def submit_correction(
    request: Request,
    chair: ChairBearer,
    _json: JsonBody,
    idempotency_key: IdempotencyKey,
    body: Annotated[CorrectionRequest, Body()],
) -> Response:
    """Correct several stages of the precinct at once with one reason (e.g. the final alignment and the
    delegates it gives). Each stage replaces this channel's current entry of that stage; the precinct's stages
    after the substitution are checked and recomputed as a whole; all the entries are recorded, sharing one
    ``correction_id``, or none. 201: recorded durably; 200: a retry (same Idempotency-Key) of a correction
    already recorded (the original receipts, ``replayed: true``)."""
    correction = body.to_correction()

    def correct() -> Response:
        result = services_of(request).reports.correct_as_chair(chair.session(request), correction, idempotency_key)
        return _answer(correction_out(result), 200 if result.replayed else 201)

    return await run_in_threadpool(correct)


@router.get(
    "/precinct", tags=["reports"], response_model=PrecinctOut, responses=error_responses(401, 403),
)
def precinct_status(request: Request, principal: Chair) -> PrecinctOut:
    """The chair's own precinct: its state with the reasons, what each stage holds, every receipt, the
    findings and the server's recomputation."""
    assert principal.chair is not None
    return precinct_out(services_of(request).reports.status(principal.chair.precinct))


def docs_router(app: FastAPI) -> APIRouter:
    """The OpenAPI document and its browsable docs (public, not listed in the document itself)."""
    docs = APIRouter()

    @docs.get(OPENAPI_PATH, include_in_schema=False, dependencies=[access("public")])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @docs.get(DOCS_PATH, include_in_schema=False, dependencies=[access("public")])
    def swagger() -> HTMLResponse:
        # no inline script or style: the app's Content-Security-Policy (caucus.web.headers) covers this page
        return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(app.title)} - API</title>
<link rel="stylesheet" href="{DOCS_PATH}/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_PATH}/static/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/static/docs.js"></script>
</body>
</html>
""")

    @docs.get(DOCS_PATH + "/static/{name}", include_in_schema=False, dependencies=[access("public")])
    def swagger_file(name: str) -> Response:
        found = DOCS_FILES.get(name)
        if found is None:
            raise HTTPException(404, f"no API docs file {name!r}")
        path, media = found
        return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    return docs

"""The media feed at stable, versioned URLs: ``/feed/v1/...`` served from the snapshot files (see
docs/feed.md). Strong ETags (the file's sha256 from the manifest), Last-Modified (the release time) and 304s.
"""

from __future__ import annotations

import functools
import json
import re
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from caucus.plans import Plan
from caucus.publish.model import slug
from caucus.publish.store import LATEST_JSON
from caucus.service import FieldProblem
from caucus.web.access import access
from caucus.web.errors import error_response
from caucus.web.public.reader import NotPublished, Published, SnapshotReader
from caucus.web.services import services_of

PREFIX = "/feed/v1"
LATEST_CACHE = "public, max-age=1, must-revalidate"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {
    ".json": "application/json", ".csv": "text/csv; charset=utf-8", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".png": "image/png", ".webp": "image/webp",
}
#: stable names of the latest release's files outside feed/
ALIASES = {"nist.json": "nist/election-report.json", "manifest.json": "manifest.json", "release.json": "release.json"}

router = APIRouter(include_in_schema=False)  # documented in docs/feed.md and docs/publish.md


def reader_of(request: Request) -> SnapshotReader:
    return services_of(request).snapshots


def _not_found(message: str) -> Response:
    return error_response(404, "not-released", message)


#: a county's or a precinct's own file, under feed/
_OWN_FILE = re.compile(r"^(?:feed/)?(county|precinct)/([^/]+)\.(?:json|csv)$")


@functools.cache
def _slugs(plan: Plan) -> dict[str, frozenset[str]]:
    return {"county": frozenset(slug(name) for name in plan.counties),
            "precinct": frozenset(slug(p.code) for p in plan.precincts)}


def _missing(request: Request, path: str, exc: NotPublished) -> Response:
    """404 for a file a release does not have: a county or precinct the plan does not have is said to be
    unknown (a mistyped slug), not unreleased (a precinct that has not reported yet)."""
    own = _OWN_FILE.match(path)
    if own is not None and own[2] not in _slugs(services_of(request).context.plan)[own[1]]:
        listing = "counties" if own[1] == "county" else "precincts"
        return error_response(404, "unknown-file", f"this election's plan has no {own[1]} {own[2]!r}; the "
                                                   f"{own[1]} slugs are in /feed/v1/{listing}.json")
    return _not_found(str(exc))


def _fresh(request: Request, published: Published) -> bool:
    """True when the client's copy is current (If-None-Match, else If-Modified-Since)."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        offered = {tag.strip().removeprefix("W/") for tag in tags.split(",")}
        return "*" in offered or published.etag in offered
    since = request.headers.get("if-modified-since")
    if since is not None:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return moment.tzinfo is not None and published.modified_at.replace(microsecond=0) <= moment
    return False


def serve(request: Request, published: Published, *, immutable: bool) -> Response:
    headers = {
        "ETag": published.etag,
        "Last-Modified": published.last_modified,
        "Cache-Control": IMMUTABLE_CACHE if immutable else LATEST_CACHE,
        "X-Caucus-Release": str(published.number),
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",  # a photo is an image, a document JSON: never sniffed as HTML
    }
    if _fresh(request, published):
        return Response(status_code=304, headers=headers)
    media = MEDIA_TYPES.get(PurePosixPath(published.path).suffix, "application/octet-stream")
    body = b"" if request.method == "HEAD" else published.data
    response = Response(body, media_type=media, headers=headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(published.data))
    return response


@router.api_route(f"{PREFIX}/latest.json", methods=["GET", "HEAD"], dependencies=[access("public")])
def latest(request: Request) -> Response:
    """The latest release: number, time, manifest sha256 (the snapshot directory's latest.json)."""
    reader = reader_of(request)
    try:
        data = (reader.store.root / LATEST_JSON).read_bytes()
    except FileNotFoundError:
        return _not_found("no results have been released yet")
    return Response(data, media_type="application/json",
                    headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


#: a release number as the delta's URL may carry it: digits only (no sign, no fraction), at most 18 of them
_RELEASE_NUMBER = re.compile(r"[0-9]{1,18}")


def _bad_release_number(given: str) -> Response:
    """422 for a delta whose ``n`` is not a release number (a negative, a fraction, a word)."""
    rule = "must be a release number: a whole number 0 or more in at most 18 digits (0: everything released)"
    shown = given if len(given) <= 40 else given[:39] + "…"
    return error_response(422, "invalid-request",
                          f"the request has 1 problem: n in /feed/v1/delta/<n>.json {rule}, got {shown!r}",
                          [FieldProblem("n", "not-a-release-number", f"{rule}, got {shown!r}")])


@router.api_route(f"{PREFIX}/delta/{{since}}.json", methods=["GET", "HEAD"], dependencies=[access("public")])
def delta(request: Request, since: str) -> Response:
    """What changed from release ``n`` (the path's ``since``) to the latest."""
    if _RELEASE_NUMBER.fullmatch(since) is None:
        return _bad_release_number(since)
    number = int(since)
    reader = reader_of(request)
    try:
        body = reader.delta(number)
        index = reader.index(body["release"])
    except NotPublished as exc:
        return _not_found(str(exc))
    data = (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode()
    published = Published(index.number, "delta.json", data, f'"delta-{number}-{index.manifest_sha256}"',
                          reader.file("release.json", index.number).last_modified, index.created_at)
    return serve(request, published, immutable=False)


@router.api_route(f"{PREFIX}/releases/{{number}}/{{path:path}}", methods=["GET", "HEAD"],
                  dependencies=[access("public")])
def release_file(request: Request, number: int, path: str) -> Response:
    """Any file of release ``number`` (immutable)."""
    try:
        return serve(request, reader_of(request).file(path, number), immutable=True)
    except NotPublished as exc:
        return _missing(request, path, exc)


@router.api_route(f"{PREFIX}/{{path:path}}", methods=["GET", "HEAD"], dependencies=[access("public")])
def latest_file(request: Request, path: str) -> Response:
    """A file of the latest release: ``statewide.json`` is ``feed/statewide.json``; see ALIASES."""
    try:
        return serve(request, reader_of(request).file(ALIASES.get(path, f"feed/{path}")), immutable=False)
    except NotPublished as exc:
        return _missing(request, path, exc)

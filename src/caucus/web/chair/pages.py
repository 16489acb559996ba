"""The chair app's shell: ``/chair/`` (server-rendered with Jinja2), its web app manifest, its service worker
(scope ``/chair/``) and its static files. All public: they hold no precinct data.

The service worker caches exactly the files listed in :data:`SHELL_FILES` under a cache named after a hash
of their contents, so a new release replaces the cache and the app still reopens with no network.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from fastapi import APIRouter
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from caucus import __version__
from caucus.plans import PlanSettings
from caucus.web.access import access
from caucus.web.services import services_of

HERE = Path(__file__).parent
STATIC = HERE / "static"
BASE = "/chair"
#: static files served at /chair/static/<name>, with their media types
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".png": "image/png"}
#: what the service worker caches so that the app reopens offline
SHELL_FILES = ("app.css", "app.js", "caucus-math.js", "flow.js", "outbox.js", "store.js", "ui.js", "icon.svg")

router = APIRouter(include_in_schema=False)


@functools.cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


@functools.cache
def shell_version(settings: PlanSettings | None = None) -> str:
    """A hash of the shell's files, the package version and the plan's settings (the page shows them): the
    service worker's cache name."""
    digest = hashlib.sha256(__version__.encode() + repr(settings).encode())
    for name in SHELL_FILES:
        digest.update(name.encode() + b"\0" + (STATIC / name).read_bytes())
    digest.update((HERE / "templates" / "index.html").read_bytes())
    return digest.hexdigest()[:16]


def _no_cache(response: Response) -> Response:
    # The service worker decides what is served offline; the browser's HTTP cache must not get in the way.
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get(BASE, dependencies=[access("public")])
def chair_redirect(request: Request) -> RedirectResponse:
    """The credential card's QR code points at ``/chair?precinct=CODE``: keep the query."""
    query = request.url.query
    return RedirectResponse(f"{BASE}/" + (f"?{query}" if query else ""), status_code=308)


@router.get(f"{BASE}/", dependencies=[access("public")])
def chair_shell(request: Request) -> Response:
    settings = services_of(request).context.plan.settings
    html = _templates().get_template("index.html").render(version=shell_version(settings), base=BASE,
                                                          settings=settings)
    response = Response(html, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return _no_cache(response)


@router.get(f"{BASE}/manifest.webmanifest", dependencies=[access("public")])
def manifest() -> Response:
    body = {
        "name": "Caucus: precinct chair",
        "short_name": "Caucus chair",
        "description": "Report your precinct caucus: attendance, alignments, delegates, worksheet photo.",
        "start_url": f"{BASE}/",
        "scope": f"{BASE}/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [{"src": f"{BASE}/static/icon.svg", "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any"}],
    }
    return _no_cache(Response(json.dumps(body, indent=1), media_type="application/manifest+json"))


@router.get(f"{BASE}/sw.js", dependencies=[access("public")])
def service_worker(request: Request) -> Response:
    script = (STATIC / "sw.js").read_text(encoding="utf-8")
    shell = [f"{BASE}/", f"{BASE}/manifest.webmanifest", *(f"{BASE}/static/{n}" for n in SHELL_FILES)]
    version = shell_version(services_of(request).context.plan.settings)
    script = script.replace("__VERSION__", version).replace("__SHELL__", json.dumps(shell))
    response = Response(script, media_type="text/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = f"{BASE}/"
    return _no_cache(response)


@router.get(BASE + "/static/{name}", dependencies=[access("public")])
def static_file(name: str) -> Response:
    path = STATIC / name
    media = MEDIA_TYPES.get(path.suffix)
    # only plain file names of known types in the static folder (no paths, no hidden files)
    if media is None or "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, f"no chair app file {name!r}")
    return _no_cache(Response(path.read_bytes(), media_type=media))

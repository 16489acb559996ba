"""The precinct chair app: a PWA at ``/chair/`` (pages, manifest, service worker, static files) and the
chair-only API additions under ``/api/v1/chair/`` (set-up facts, worksheet photos, HQ messages).

Every route declares its access; the app shell and its static files are public (they hold no data), every
API route is ``access("chair")`` and serves only the session's own precinct. See docs/chair.md.
"""

from caucus.web.chair.api import LARGE_BODIES
from caucus.web.chair.api import router as api_router
from caucus.web.chair.pages import router as pages_router

__all__ = ["LARGE_BODIES", "api_router", "pages_router"]

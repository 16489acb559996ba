"""Headquarters pages under /hq: staff sign-in, hotline console, review queue, readiness and the night,
recanvass requests, release control, staff accounts, the chair roster, the campaigns' and observers' pages.
Server-rendered (Jinja2), every route declared with ``access(...)``."""

from __future__ import annotations

from fastapi import APIRouter

from caucus.web.hq import (
    auth_routes,
    campaign_routes,
    chairs_routes,
    election_routes,
    hotline_routes,
    night_routes,
    recanvass_routes,
    release_routes,
    review_routes,
    staff_routes,
    throttle_routes,
)
from caucus.web.hq.pages import install_hq_error_pages

#: HQ paths whose bodies may exceed the JSON body limit (for the body-limit middleware)
LARGE_BODIES = {**review_routes.LARGE_BODIES, **chairs_routes.LARGE_BODIES, **campaign_routes.LARGE_BODIES}

ROUTERS: tuple[APIRouter, ...] = (
    auth_routes.router,
    hotline_routes.router,
    hotline_routes.calls_router,
    review_routes.router,
    review_routes.photo_router,
    night_routes.router,
    recanvass_routes.router,
    release_routes.router,
    election_routes.router,
    throttle_routes.router,
    staff_routes.router,
    chairs_routes.router,
    campaign_routes.router,
)

__all__ = ["LARGE_BODIES", "ROUTERS", "install_hq_error_pages"]

"""Headquarters pages under /hq: staff sign-in, hotline console, review queue, readiness and the night,
recanvass requests, release control. Server-rendered (Jinja2), every route declared with ``access(...)``."""

from __future__ import annotations

from fastapi import APIRouter

from caucus.web.hq import auth_routes, hotline_routes, night_routes, recanvass_routes, review_routes
from caucus.web.hq.pages import install_hq_error_pages

ROUTERS: tuple[APIRouter, ...] = (
    auth_routes.router,
    hotline_routes.router,
    hotline_routes.calls_router,
    review_routes.router,
    review_routes.photo_router,
    night_routes.router,
    recanvass_routes.router,
)

__all__ = ["ROUTERS", "install_hq_error_pages"]

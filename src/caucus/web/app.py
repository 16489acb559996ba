"""The app factory: ``create_app(settings)`` builds the FastAPI app; its lifespan does the work.

At start-up (the lifespan, off the event loop) the app brings the schema up to date, loads the election it
serves and starts the ledger's single Writer; at shutdown it commits what is queued, stops the Writer and
closes the engine. Nothing happens at import time. Serve it with::

    CAUCUS_DATABASE_URL=sqlite:///var/caucus.db uvicorn --factory caucus.web.app:create_app
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from caucus import __version__
from caucus.ledger import make_engine
from caucus.web.access import check_access_declared
from caucus.web.api.routes import docs_router, router
from caucus.web.chair import LARGE_BODIES as CHAIR_LARGE_BODIES
from caucus.web.chair import api_router as chair_api_router
from caucus.web.chair import pages_router as chair_pages_router
from caucus.web.errors import install_error_handlers
from caucus.web.hq import LARGE_BODIES as HQ_LARGE_BODIES
from caucus.web.hq import ROUTERS as HQ_ROUTERS
from caucus.web.hq import install_hq_error_pages
from caucus.web.middleware import EdgeMiddleware
from caucus.web.public import events as public_events
from caucus.web.public import feed as public_feed
from caucus.web.public import pages as public_pages
from caucus.web.services import STATE_KEY, Services, start_services
from caucus.web.settings import Settings, load_settings

TITLE = "caucus"
DESCRIPTION = (
    "Caucus-night results reporting. Precinct chairs sign in with their precinct's credential and report "
    "each stage; every report is checked on arrival, recorded durably in an append-only ledger (a 2xx means "
    "committed) and never altered. See docs/api.md."
)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The app for ``settings`` (default: from the ``CAUCUS_*`` environment, failing fast on a bad value).

    ``clock`` replaces the wall clock (tests); ``extra_routers`` are included after the API's own routes.
    Raises UndeclaredAccess if a route does not declare who may call it (checked again at start-up, for
    routes added later).
    """
    settings = settings if settings is not None else load_settings()
    # a pool big enough for the request threads avoids churning connections (each redoes its set-up pragmas)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Services]]:
        check_access_declared(app)
        services = await run_in_threadpool(start_services, engine, settings, clock)
        try:
            yield {STATE_KEY: services}
        finally:
            await run_in_threadpool(services.close)

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,  # served by a declared route instead: see docs_router
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_hq_error_pages(app)
    # the client's address, security headers, the body limit and times in the plan's zone, in one middleware
    app.add_middleware(EdgeMiddleware, proxies=settings.proxies, max_bytes=settings.max_body_bytes,
                       larger={**CHAIR_LARGE_BODIES, **HQ_LARGE_BODIES})
    app.include_router(router)
    app.include_router(chair_api_router)
    app.include_router(chair_pages_router)
    app.include_router(docs_router(app))
    app.include_router(public_feed.router)
    app.include_router(public_pages.router)
    app.include_router(public_events.router)
    for hq in HQ_ROUTERS:
        app.include_router(hq)
    for extra in extra_routers:
        app.include_router(extra)
    check_access_declared(app)
    return app

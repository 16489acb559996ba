"""Readiness before caucus night and progress on the night."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from caucus.web.access import STAFF_ROLES, Principal, access
from caucus.web.hq.charts import line_chart
from caucus.web.hq.pages import PREFIX, page
from caucus.web.services import services_of

router = APIRouter(prefix=PREFIX, include_in_schema=False)
#: a campaign account has its own pages (quality control: counts without contacts or stuck precincts)
Staff = Annotated[Principal, access(*(r for r in STAFF_ROLES if r != "campaign"))]


@router.get("/readiness")
def readiness(request: Request, principal: Staff) -> Response:
    return page(request, "readiness.html", principal, r=services_of(request).readiness.readiness())


@router.get("/night")
def night(request: Request, principal: Staff) -> Response:
    services = services_of(request)
    progress = services.readiness.night()
    total = len(services.context.precincts)
    chart = line_chart(progress.reporting_over_time, total=total, label="precincts reporting over time",
                       settings=services.context.plan.settings)
    return page(request, "night.html", principal, n=progress, total=total, chart=chart)

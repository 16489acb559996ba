"""Chair-only API additions under ``/api/v1/chair`` (every route ``access("chair")``, own precinct only).

- ``GET /api/v1/chair/setup``: what the app needs to guide the night offline: the precinct's plan facts
  (D or satellite), the groups to count, the rule set and the county's SDE ratio as an exact fraction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request

from caucus.web.access import Principal, access
from caucus.web.errors import error_responses
from caucus.web.services import services_of

PREFIX = "/api/v1/chair"

Chair = Annotated[Principal, access("chair")]
router = APIRouter(prefix=PREFIX, tags=["chair"])


class PrecinctFacts(BaseModel):
    code: str
    county: str
    name: str
    kind: str = Field(description="precinct, or satellite (D follows attendance, IA-5.2)")
    delegates_to_elect: int | None = Field(description="D; null for a satellite site")
    sde_ratio: tuple[int, int] | None = Field(
        description="The county's SDEs per county delegate S/C as [numerator, denominator]; null for a "
                    "satellite site")


class SetupOut(BaseModel):
    election: str
    mode: str = Field(description="test or live")
    ruleset: str = Field(description="the rule set the app's math mirrors, e.g. iowa-2020")
    candidates: list[str] = Field(description="preference groups in display order (Uncommitted, Other too)")
    precinct: PrecinctFacts


@router.get("/setup", response_model=SetupOut, responses=error_responses(401, 403))
def setup(request: Request, principal: Chair) -> SetupOut:
    """The facts the chair app needs for the session's own precinct (cached on the phone for offline use)."""
    assert principal.chair is not None
    context = services_of(request).context
    info = context.precinct(principal.chair.precinct)
    ratio = None if info.sde_ratio is None else (info.sde_ratio.numerator, info.sde_ratio.denominator)
    return SetupOut(
        election=context.slug, mode=context.mode, ruleset=context.ruleset.name,
        candidates=list(context.candidates),
        precinct=PrecinctFacts(code=info.code, county=info.county, name=info.name, kind=info.kind,
                               delegates_to_elect=info.delegates, sde_ratio=ratio),
    )

"""Campaign and observer pages (issue 13, docs/campaigns.md).

A ``campaign`` account (scoped to one preference group) uploads its captains' tallies (CSV in the party's
public long layout, or one precinct typed in a form), sees the cross-check of its numbers against the party's
released numbers, files recanvass requests from it (HQ's ``R-<n>`` flow) and follows them. Campaigns and
observers (and the party's reviewers and directors) read the quality-control summary and browse or export
the released precincts. No page or export here shows a number the party has not released.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from caucus.checks import FINDING_CODES
from caucus.service import ServiceError
from caucus.service.browse import BROWSE_STATES, PAGE_SIZE, parse_browse, parse_page
from caucus.service.campaigns import MAX_UPLOAD_BYTES, STATE_TITLES, CampaignFileInvalid
from caucus.service.hq_errors import StaffInputInvalid
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Campaign = Annotated[Principal, access("campaign")]
#: the quality-control summary and the released precincts: campaigns, observers, and the party's own readers
Readers = Annotated[Principal, access("campaign", "observer", "reviewer", "director")]
UPLOAD_PATH = f"{PREFIX}/campaign/upload"
#: the upload's body may exceed the JSON body limit
LARGE_BODIES = {UPLOAD_PATH: MAX_UPLOAD_BYTES + 64 * 1024}


def _crosscheck(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
                fields: dict[str, str] | None = None, values: dict[str, str] | None = None,
                problems: list[str] | None = None, form_of: str = "", page_number: str = "") -> Response:
    services = services_of(request)
    try:
        check = services.campaigns.crosscheck(principal.campaign, parse_page(page_number))
    except StaffInputInvalid as error:
        if not any(p.field == "page" for p in error.fields):
            raise
        # a bad page: the first page, with the error naming the parameter
        check = services.campaigns.crosscheck(principal.campaign)
        status, message = status_for(error), error.message
        fields = {**(fields or {}), **{p.field: p.message for p in error.fields}}
    return page(request, "campaign.html", principal, status=status, message=message, done=done,
                fields=fields or {}, values=values or {}, problems=problems or [], form_of=form_of, c=check,
                example=services.context.plan.settings.example_code, max_bytes=MAX_UPLOAD_BYTES)


Text = Annotated[str, Query(max_length=200)]
PageText = Annotated[str, Query(alias="page", max_length=200)]


@router.get("/campaign")
def crosscheck(request: Request, principal: Campaign, done: str = "", page_number: PageText = "") -> Response:
    """The cross-check: the statewide effect, and a page of ``PAGE_SIZE`` of the campaign's precincts."""
    return _crosscheck(request, principal, done=done[:300], page_number=page_number)


@router.post("/campaign/upload")
async def upload(request: Request, principal: Campaign) -> Response:
    form = await request.form()
    services = services_of(request)
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise StaffInputInvalid("file", "choose your tallies file (CSV: county,precinct,candidate,measure,value)")
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        name = file.filename
        result = await run_in_threadpool(services.campaigns.upload, principal.campaign, principal.actor, data, name)
    except CampaignFileInvalid as error:  # every problem of the file, each with its line
        return _crosscheck(request, principal, status=status_for(error), message=error.message.partition(":")[0],
                           problems=[p.message for p in error.fields], form_of="upload")
    except ServiceError as error:
        return _crosscheck(request, principal, status=status_for(error), message=error.message,
                           fields={p.field: p.message for p in error.fields}, form_of="upload")
    finally:
        await form.close()
    return see_other(f"{PREFIX}/campaign?done={quote(f'{name}: {result.describe()}')}")


@router.post("/campaign/enter")
async def enter(request: Request, principal: Campaign) -> Response:
    form = await request.form()
    services = services_of(request)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        result = await run_in_threadpool(services.campaigns.enter, principal.campaign, principal.actor,
                                         text_field(form, "precinct", required=True, label="the precinct code"),
                                         values)
    except ServiceError as error:
        return _crosscheck(request, principal, status=status_for(error), message=error.message, values=values,
                           fields={p.field: p.message for p in error.fields}, form_of="enter")
    return see_other(f"{PREFIX}/campaign?done={quote(f'{result.precincts[0]}: {result.describe()}')}")


@router.post("/campaign/recanvass")
async def file_recanvass(request: Request, principal: Campaign) -> Response:
    form = await request.form()
    services = services_of(request)
    precincts = [v for v in form.getlist("precinct") if isinstance(v, str)]
    reason = text_field(form, "reason")
    try:
        made = await run_in_threadpool(services.campaigns.request_recanvass, principal.campaign, principal.actor,
                                       precincts, reason)
    except ServiceError as error:
        return _crosscheck(request, principal, status=status_for(error), message=error.message,
                           values={"reason": reason}, fields={p.field: p.message for p in error.fields},
                           form_of="recanvass")
    done = f"filed {made.label} for {len(made.precincts)} precinct(s); HQ reviews it"
    return see_other(f"{PREFIX}/campaign/requests?done={quote(done)}")


@router.get("/campaign/requests")
def requests(request: Request, principal: Campaign, done: str = "", page_number: PageText = "") -> Response:
    """The campaign's requests, ``REQUESTS_PAGE`` to a page in the order filed."""
    services = services_of(request)
    try:
        found = services.campaigns.requests(principal.campaign, parse_page(page_number))
    except StaffInputInvalid as error:
        if not any(p.field == "page" for p in error.fields):
            raise
        first = services.campaigns.requests(principal.campaign)  # a bad page: the first, the error naming it
        return page(request, "campaign_requests.html", principal, status=status_for(error), message=error.message,
                    fields={p.field: p.message for p in error.fields}, r=first, items=first.items)
    return page(request, "campaign_requests.html", principal, done=done[:300], fields={}, r=found, items=found.items)


@router.get("/campaign/crosscheck.csv")
def crosscheck_csv(request: Request, principal: Campaign) -> Response:
    """The cross-check as CSV: the campaign's numbers and, for released precincts only, the party's."""
    services = services_of(request)
    chunks = services.exports.stream(principal.username, lambda: services.campaigns.crosscheck_csv(principal.campaign))
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers=_csv_headers(f"crosscheck-{services.context.slug}.csv"))


@router.get("/quality")
def quality(request: Request, principal: Readers) -> Response:
    services = services_of(request)
    summary = services.campaigns.quality([r for r in services.releases.list() if not r.archived])
    return page(request, "quality.html", principal, q=summary, state_titles=STATE_TITLES, codes=FINDING_CODES)


@router.get("/precincts")
def browse(request: Request, principal: Readers, *, county: Text = "", state: Text = "", finding: Text = "",
           q: Text = "", since: Text = "", page_number: PageText = "") -> Response:
    """A page of the released precincts (``PAGE_SIZE`` rows in code order) the filters select, and how many."""
    services = services_of(request)
    filters = {"county": county, "state": state, "finding": finding, "q": q, "since": since}
    values = dict(filters, page=page_number)
    shown: dict[str, Any] = {"states": BROWSE_STATES, "counties": sorted(services.context.plan.counties),
                             "codes": FINDING_CODES, "page_size": PAGE_SIZE}
    try:
        query = parse_browse(services.context, county=county, state=state, finding=finding, search=q, since=since)
        found = services.campaigns.browse(query, parse_page(page_number))
    except ServiceError as error:
        return page(request, "precincts.html", principal, status=status_for(error), message=error.message,
                    fields={p.field: p.message for p in error.fields}, b=None, f=values, query="", **shown)
    kept = urlencode({k: v for k, v in filters.items() if v})
    return page(request, "precincts.html", principal, b=found, f=values, fields={}, query=kept, **shown)


@router.get("/precincts.csv")
def browse_csv(request: Request, principal: Readers, *, county: Text = "", state: Text = "", finding: Text = "",
               q: Text = "", since: Text = "") -> Response:
    """Every released precinct the filters select, streamed (bad filters: HQ's error page, before any row)."""
    services = services_of(request)
    query = parse_browse(services.context, county=county, state=state, finding=finding, search=q, since=since)
    chunks = services.exports.stream(principal.username, lambda: services.campaigns.export(query))
    name = f"released-precincts-{services.context.slug}.csv"
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=_csv_headers(name))


def _csv_headers(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"}

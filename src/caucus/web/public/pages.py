"""The public results site: server-rendered pages read from the latest snapshot (never the ledger) and the
site's own static files (the live-update stream is :mod:`caucus.web.public.events`). Routes are thin: they
pick a snapshot file and a template."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from caucus.plans import Plan
from caucus.publish.model import slug
from caucus.web.access import access
from caucus.web.public.atlas import plan_map
from caucus.web.public.reader import NotPublished, SnapshotReader
from caucus.web.public.wording import chance_sentences, channel_name, correction_sentence
from caucus.web.services import services_of

HERE = Path(__file__).parent
STATIC = {"public.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8",
          "icon.svg": "image/svg+xml"}
REFRESH_SECONDS = 30
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939")
NO_RESULTS = "#e5e5e5"
#: a county with results whose SDE lead is shared (no leader): a neutral grey darker than "no results"
TIED = "#9a9a9a"

router = APIRouter(include_in_schema=False)  # documented in docs/feed.md and docs/publish.md


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["when"] = _when
    env.filters["channel"] = channel_name
    return env


def colors(plan: Plan) -> dict[str, str]:
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(plan.candidates)}


def _blend(color: str, share: float) -> str:
    """``color`` mixed with white: a wider margin (share of the county's SDEs) gives a darker shade."""
    strength = 0.35 + 0.65 * min(1.0, share * 2.5)
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in (r, g, b))


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, text: str) -> str:
    """``Mon 3 Feb 2020, 7:00:07 pm CST``: an ISO 8601 time of the feed in the plan's time zone."""
    return str(context["plan_settings"].moment(_parse(text)))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    services = services_of(request)
    reader = services.snapshots
    plan = services.context.plan
    base: dict[str, Any] = {"election_title": plan.title, "title": plan.title, "refresh_seconds": REFRESH_SECONDS,
                            "release": None, "test": reader.mode(services.context.mode) == "test", "zero": False,
                            "certified": False, "plan_settings": plan.settings, "party": plan.settings.party,
                            "candidates": plan.candidates}
    header = context.pop("header", None)
    if header is not None:
        index = reader.index(header["release"])
        base.update(release=header["release"], test=header["test"], zero=header["zero"], status=header["status"],
                    status_label=_status_label(header), certified=header["status"] == "certified",
                    last_updated=header["lastUpdated"],
                    last_updated_text=plan.settings.moment(_parse(header["lastUpdated"])),
                    manifest_sha256=index.manifest_sha256)
    html = environment().get_template(template).render(**{**base, **context})
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-cache"})


def _status_label(header: Mapping[str, Any]) -> str:
    if header["status"] != "certified":
        return "unofficial results"
    return "certified, corrected" if header.get("correctionOf") is not None else "certified"


def _latest_json(reader: SnapshotReader, path: str) -> tuple[int, dict[str, Any]] | None:
    """(release, document) from the latest release; None before the first. Retries once if the pointer
    moves between reading it and reading the file."""
    for _ in range(2):
        number = reader.latest()
        if number is None:
            return None
        try:
            return number, reader.json(path, number)
        except NotPublished:
            if reader.latest() == number:
                raise
    return None


@router.get("/", response_class=HTMLResponse, dependencies=[access("public")])
def statewide(request: Request) -> HTMLResponse:
    services = services_of(request)
    reader = services.snapshots
    plan = services.context.plan
    found = _latest_json(reader, "feed/statewide.json")
    if found is None:
        return _render(request, "statewide.html")
    number, state = found
    counties = {c["name"]: c for c in reader.json("feed/counties.json", number)["counties"]}
    palette = colors(plan)
    fills = {}
    county_map = plan_map(plan)
    sde = _has_sde(plan)
    #: counties with SDEs but no leader: who shares the lead (the map shades them TIED, not "no results")
    county_ties = {name: {"names": tied, "sde": next(r["sde"] for r in c["candidates"] if r["name"] == tied[0])}
                   for name, c in counties.items() if sde and not c.get("sdeLeader") and (tied := _tied_for_lead(c))}
    for shape in county_map.counties if county_map is not None else ():
        leader = (counties.get(shape.name) or {}).get("sdeLeader")
        fills[shape.name] = (_blend(palette[leader["name"]], float(leader["marginShare"])) if leader
                             else TIED if shape.name in county_ties else NO_RESULTS)
    shown_leaders = sorted({c["sdeLeader"]["name"] for c in counties.values() if c.get("sdeLeader")})
    return _render(request, "statewide.html", header=state, state=state, counties=counties, sde=sde,
                   tied=_tied_for_lead(state) if sde and not state.get("sdeLeader") else [],
                   county_ties=county_ties, tied_color=TIED, no_results_color=NO_RESULTS,
                   county_list=list(counties.values()), map=county_map if sde else None, fills=fills, colors=palette,
                   legend=[(g, palette[g]) for g in shown_leaders],
                   map_counties=len(county_map.counties) if county_map is not None else 0)


@router.get("/county/{name}", response_class=HTMLResponse, dependencies=[access("public")])
def county(request: Request, name: str) -> HTMLResponse:
    reader = services_of(request).snapshots
    try:
        found = _latest_json(reader, f"feed/county/{name}.json")
    except NotPublished:
        return _render(request, "not_found.html", status_code=404, title="No such county", what="county")
    if found is None:
        return _render(request, "statewide.html")
    number, doc = found
    # a county document carries no release number or time (docs/feed.md): the release's own facts do
    sde = _has_sde(services_of(request).context.plan)
    return _render(request, "county.html", header=reader.json("release.json", number), county=doc["county"],
                   precincts=doc["precincts"], sde=sde,
                   tied=_tied_for_lead(doc["county"]) if sde and not doc["county"].get("sdeLeader") else [],
                   title=f"{doc['county']['name']}: results")


def _tied_for_lead(state: Mapping[str, Any]) -> list[str]:
    """The candidates who share the most SDEs of a statewide or county summary when nobody leads (none while
    no candidate has any)."""
    sdes = {c["name"]: Decimal(c["sde"]) for c in state.get("candidates", ()) if c.get("sde") is not None}
    top = max(sdes.values(), default=Decimal(0))
    return sorted(name for name, value in sdes.items() if value == top) if top > 0 else []


@functools.cache
def _has_sde(plan: Plan) -> bool:
    """False for a rule set without SDEs (Nevada, NV-4): county delegates are the headline, no SDE columns or
    SDE leaders on its pages."""
    return any(c.state_delegates is not None for c in plan.counties.values())


@functools.cache
def _precincts_by_slug(plan: Plan) -> Mapping[str, Any]:
    return {slug(p.code): p for p in plan.precincts}


@router.get("/precinct/{name}", response_class=HTMLResponse, dependencies=[access("public")])
def precinct(request: Request, name: str) -> HTMLResponse:
    services = services_of(request)
    reader = services.snapshots
    fact = _precincts_by_slug(services.context.plan).get(name)
    if fact is None:
        return _render(request, "not_found.html", status_code=404, title="No such precinct", what="precinct")
    info = {"code": fact.code, "county": fact.county, "name": fact.name, "kind": fact.kind}
    state = _latest_json(reader, "release.json")
    record = None
    if state is not None:
        try:
            record = reader.json(f"feed/precinct/{name}.json", state[0])
        except NotPublished:
            record = None
    settings = services.context.plan.settings
    chance = chance_sentences(record) if record else []
    corrections = [(correction_sentence(c, settings.moment(_parse(c["receivedAt"]))), c.get("reason") or "")
                   for c in (record or {}).get("corrections", ())]
    return _render(request, "precinct.html", header=state[1] if state else None, precinct=info, record=record,
                   county_slug=slug(fact.county), title=f"{fact.name}: results", chance=chance,
                   corrections=corrections, sde=_has_sde(services.context.plan))


@router.get("/feed", response_class=HTMLResponse, dependencies=[access("public")])
def feed_reference(request: Request) -> HTMLResponse:
    found = _latest_json(services_of(request).snapshots, "release.json")
    return _render(request, "feed.html", header=found[1] if found else None, title="Media feed",
                   bulk_interval=services_of(request).settings.bulk_interval)


@router.get("/static/public/{name}", dependencies=[access("public")])
def static(name: str) -> Response:
    media = STATIC.get(name)
    if media is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    return Response((HERE / "static" / name).read_bytes(), media_type=media,
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/favicon.ico", dependencies=[access("public")])
def favicon() -> Response:
    """Browsers ask for /favicon.ico on every site whatever the page links: the site's icon (an SVG)."""
    return static("icon.svg")

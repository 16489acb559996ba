"""Campaigns and observers: their own tallies, the cross-check against the party's released numbers, the
quality-control summary, recanvass requests from the discrepancies, and the browse/export of released
precincts.

What a campaign sees of the party's numbers is only what was published: the records of the releases
(``release_precincts``, exactly what the release documents were built from). Before a precinct is released a
campaign sees its state and reason codes (not reported / reported, incomplete / held for review / conflicting
/ accepted, awaiting release), never a number. A campaign's own tallies live in ``campaign_tallies``
(:mod:`caucus.ledger.campaign_tallies`): never counted, never compared with another campaign's, never public.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, func, or_, select

from caucus.audit import audit
from caucus.checks import FINDING_CODES, Finding
from caucus.ledger import audit as ledger_audit
from caucus.ledger.campaign_tallies import StoredTally, TallyRow, current_tallies, record
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.epochs import read_epoch
from caucus.ledger.schema import precinct_status, release_precincts, releases
from caucus.results_csv import MEASURES, PublishedPrecinct, ResultsFileError, read_results_text
from caucus.rules import to_decimal
from caucus.service import browse, crosscheck_rows
from caucus.service.browse import Browse, BrowsePage, BrowseRow
from caucus.service.context import ElectionContext
from caucus.service.errors import FieldProblem, ServiceError, UnknownPrecinctCode
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.recanvass import RecanvassProgress, RecanvassRequest, RecanvassService
from caucus.service.status import read_statuses, reason_codes

Record = dict[str, Any]
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_NUMBER = 100_000
STATE_TITLES = {"not-reported": "not reported", "reported": "reported, incomplete",
                "held-for-review": "held for review", "conflicting": "conflicting (held for review)",
                "accepted": "accepted, awaiting release", "released": "released"}
SDE_PLACES = Decimal("0.0001")
#: the findings about reported delegates or SDEs: not applicable to a campaign's tally without SDEs
ABOUT_REPORTED_DELEGATES = frozenset({"delegate-total-mismatch", "delegates-differ", "sde-mismatch",
                                      "nonviable-awarded", "chance-not-recorded", "chance-outcome-invalid"})
MEASURE_TITLES = {"first": "first alignment", "final": "final alignment", "sde": "SDEs"}
#: precincts one recanvass request may name (a page of the cross-check), and requests on a page of the requests
MAX_REQUEST_PRECINCTS = browse.PAGE_SIZE
REQUESTS_PAGE = 20
#: comparisons of tallies with released records kept (all of them dropped past it)
COMPARED_KEPT = 400_000


class CampaignFileInvalid(StaffInputInvalid):
    """An uploaded tally file with problems: every one, each naming its line (field ``file``)."""

    def __init__(self, errors: Sequence[str]) -> None:
        message = f"the file was not recorded ({len(errors)} problem{'s' if len(errors) != 1 else ''}): " + \
            "; ".join(errors[:20]) + (f"; ... and {len(errors) - 20} more" if len(errors) > 20 else "")
        ServiceError.__init__(self, message, [FieldProblem("file", self.code, e) for e in errors[:50]])


@dataclass(frozen=True)
class Released:
    """A precinct as the releases published it: its newest record, and every release that changed it."""

    code: str
    number: int
    record: Record
    history: tuple[tuple[int, Record], ...]


@dataclass(frozen=True)
class PrecinctView:
    """A precinct as a campaign or an observer may see it: released numbers, or only the state."""

    code: str
    county: str
    name: str
    state: str  # a status name, or "released"
    reasons: tuple[str, ...]  # reason codes only (never a number)
    released: Released | None
    #: accepted now with entries newer than its released record (a correction not yet published)
    awaiting: bool = False

    @property
    def title(self) -> str:
        return STATE_TITLES[self.state]

    @property
    def findings(self) -> tuple[str, ...]:
        return tuple(f["code"] for f in self.released.record.get("findings", ())) if self.released else ()


@dataclass(frozen=True)
class Difference:
    measure: str  # first | final | sde
    group: str
    campaign: int | Decimal
    party: int | Decimal | None

    @property
    def delta(self) -> int | Decimal | None:
        return None if self.party is None else self.campaign - self.party


@dataclass(frozen=True)
class CrossCheckRow:
    view: PrecinctView
    tally: StoredTally
    campaign_sde: dict[str, Decimal]
    campaign_findings: tuple[Finding, ...]
    differences: tuple[Difference, ...]

    @property
    def compared(self) -> bool:
        return self.view.released is not None

    @property
    def differs(self) -> bool:
        return bool(self.differences)


@dataclass(frozen=True)
class CrossCheck:
    campaign: str
    candidates: tuple[str, ...]
    rows: tuple[CrossCheckRow, ...]
    #: statewide SDEs of every released precinct as published, and with the campaign's SDEs where they differ
    party_sde: dict[str, Decimal]
    with_campaign_sde: dict[str, Decimal]
    released_without_tally: int
    #: the page of ``rows`` shown (``PAGE_SIZE`` rows in code order), of how many
    page: int = 1
    pages: int = 1

    @property
    def shown(self) -> tuple[CrossCheckRow, ...]:
        start = (self.page - 1) * browse.PAGE_SIZE
        return self.rows[start:start + browse.PAGE_SIZE]

    @property
    def first(self) -> int:
        return (self.page - 1) * browse.PAGE_SIZE + 1 if self.rows else 0

    @property
    def differing(self) -> tuple[CrossCheckRow, ...]:
        return tuple(r for r in self.rows if r.differs)

    def effect(self) -> dict[str, Decimal]:
        return {g: self.with_campaign_sde.get(g, Decimal(0)) - self.party_sde.get(g, Decimal(0))
                for g in self.candidates}

    def leader(self, which: str) -> str:
        totals = self.party_sde if which == "party" else self.with_campaign_sde
        return max(totals, key=lambda g: (totals[g], g)) if totals and any(totals.values()) else ""


@dataclass(frozen=True)
class Quality:
    """The quality-control summary: counts only, never an unreleased number."""

    total: int
    by_state: dict[str, int]
    held_by_reason: dict[str, int]
    released: int
    awaiting_release: int
    released_findings: dict[str, int]
    checks: tuple[tuple[str, str, str, str], ...]  # code, severity, rule, meaning
    releases: tuple[Any, ...]


@dataclass(frozen=True)
class UploadResult:
    precincts: tuple[str, ...]

    def describe(self) -> str:
        return f"recorded your numbers for {len(self.precincts)} precinct{'s' if len(self.precincts) != 1 else ''}"


def _ints(values: Mapping[str, Any] | None) -> dict[str, int]:
    return {str(g): int(n) for g, n in (values or {}).items()}


def _decimals(values: Mapping[str, Any] | None) -> dict[str, Decimal]:
    return {str(g): Decimal(str(v)) for g, v in (values or {}).items()}


class CampaignService:
    def __init__(self, engine: Engine, context: ElectionContext, recanvass: RecanvassService, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.context, self.recanvass, self.clock = engine, context, recanvass, clock
        #: the checks of each campaign's current tallies, by the ids of the rows checked (rows never change,
        #: so the same ids are the same numbers): a whole state's tallies take a second or so to check
        self._checked: dict[str, tuple[tuple[int, ...], tuple[dict[str, tuple[Finding, ...]],
                                                               dict[str, dict[str, Decimal]]]]] = {}
        #: each tally's differences from a released record, by (tally id, precinct, release): both never change
        self._compared: dict[tuple[int, str, int], tuple[Difference, ...]] = {}

    # -- the campaign's own tallies --------------------------------------------------------------------
    def _campaign(self, campaign: str | None) -> str:
        if not campaign or campaign not in self.context.candidates:
            raise StaffInputInvalid("campaign", f"this account is not a campaign of this election's preference "
                                                f"groups ({', '.join(self.context.candidates)})")
        return campaign

    def upload(self, campaign: str | None, actor: str, data: bytes, filename: str) -> UploadResult:
        """Record a CSV in the party's public long layout (``county,precinct,candidate,measure,value``), read by
        the reader of ``caucus audit``. All or nothing: a file with any problem records nothing and every
        problem is named with its line."""
        group = self._campaign(campaign)
        name = (filename or "upload.csv").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:100] or "upload.csv"
        if not data:
            raise StaffInputInvalid("file", "choose a CSV file to upload (county,precinct,candidate,measure,value)")
        if len(data) > MAX_UPLOAD_BYTES:
            raise StaffInputInvalid("file", f"the file is {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StaffInputInvalid("file", f"{name} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")\
                from None
        try:
            units = read_results_text(text, name, plan=self.context.plan)
        except ResultsFileError as exc:
            raise CampaignFileInvalid(exc.errors) from None
        if not units:
            raise StaffInputInvalid("file", f"{name} has no precinct rows under its header")
        rows = []
        for unit in units:
            found = self.context.plan.find_precinct(unit.county, unit.precinct)
            assert found is not None  # the reader checked every precinct against the plan
            rows.append(TallyRow(found.code, _numbers(unit.first, unit.final, unit.sde), f"{name} line {unit.line}"))
        return self._record(group, actor, rows, {"file": name})

    def enter(self, campaign: str | None, actor: str, precinct: str, values: Mapping[str, str]) -> UploadResult:
        """One precinct typed in a form: fields ``first.<group>``, ``final.<group>``, ``sde.<group>`` (blank:
        not given; first and final need at least one number each). Every bad field is named at once."""
        group = self._campaign(campaign)
        try:
            info = self.context.precinct(precinct.strip())
        except UnknownPrecinctCode:
            raise StaffInputInvalid("precinct", f"no such precinct in this election: {precinct.strip()!r} "
                                                f"(codes look like {self.context.plan.settings.example_code})"
                                    ) from None
        numbers: dict[str, dict[str, Any]] = {"first": {}, "final": {}, "sde": {}}
        problems = []
        for measure in ("first", "final", "sde"):
            for g in self.context.candidates:
                text = (values.get(f"{measure}.{g}") or "").strip()
                if not text:
                    continue
                problem = _parse(measure, text, numbers[measure], g)
                if problem:
                    problems.append(FieldProblem(f"{measure}.{g}", "invalid-input", f"{g} {MEASURE_TITLES[measure]}: "
                                                 f"{problem}"))
        for measure in ("first", "final"):
            if not numbers[measure] and not any(p.field.startswith(measure + ".") for p in problems):
                problems.append(FieldProblem(f"{measure}", "invalid-input",
                                             f"give at least one group's {MEASURE_TITLES[measure]}"))
        if problems:
            raise ServiceErrorFields("; ".join(p.message for p in problems), problems)
        row = TallyRow(info.code, _numbers(numbers["first"], numbers["final"], numbers["sde"]), "form")
        return self._record(group, actor, [row], {"precinct": info.code})

    def _record(self, group: str, actor: str, rows: list[TallyRow], detail: dict[str, Any]) -> UploadResult:
        now = self.clock()
        with write_transaction(self.engine) as conn:
            record(conn, election_id=self.context.election_id, campaign=group, rows=rows, actor=actor, at=now)
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=actor,
                                action="campaign.tallies",
                                detail={"campaign": group, "precincts": len(rows), **detail}, outcome="ok")
        return UploadResult(tuple(r.precinct_code for r in rows))

    def tallies(self, campaign: str | None) -> dict[str, StoredTally]:
        group = self._campaign(campaign)
        with self.engine.connect() as conn:
            return current_tallies(conn, self.context.election_id, group)

    # -- what was published, and each precinct's state ----------------------------------------------------
    def released(self) -> dict[str, Released]:
        """Every precinct released in the current epoch (zero-count rehearsal releases left out)."""
        history: dict[str, list[tuple[int, Record]]] = {}
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, self.context.election_id)
            rows = conn.execute(
                select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record)
                .join(releases, (releases.c.election_id == release_precincts.c.election_id)
                      & (releases.c.number == release_precincts.c.number))
                .where(release_precincts.c.election_id == self.context.election_id,
                       release_precincts.c.number > epoch.releases_through, releases.c.zero.is_(False))
                .order_by(release_precincts.c.number))
            for row in rows:
                history.setdefault(row.precinct_code, []).append((int(row.number), json.loads(row.record)))
        return {code: Released(code, items[-1][0], items[-1][1], tuple(items)) for code, items in history.items()}

    def views(self) -> dict[str, PrecinctView]:
        """Every precinct as a campaign may see it."""
        statuses = read_statuses(self.engine, self.context)
        released = self.released()
        out: dict[str, PrecinctView] = {}
        for code, info in self.context.precincts.items():
            status = statuses.get(code)
            state = status.state if status is not None else "not-reported"
            reasons = reason_codes(status) if status is not None else ()
            published = released.get(code)
            awaiting = False
            if state == "accepted" and status is not None:
                awaiting = published is None or int(published.record.get("ledgerSeq", 0)) != status.history[-1].seq
            if published is not None:
                out[code] = PrecinctView(code, info.county, info.name, "released", reasons if state != "accepted"
                                         else (), published, awaiting)
            else:
                out[code] = PrecinctView(code, info.county, info.name, state, reasons, None, awaiting)
        return out

    # -- the cross-check ---------------------------------------------------------------------------------
    def crosscheck(self, campaign: str | None, page: int = 1) -> CrossCheck:
        """The campaign's tallies beside the released numbers (page ``page`` of the rows shown), from the status
        rows and released records of the precincts it has tallies for and the maintained statewide released SDEs
        (:mod:`caucus.service.crosscheck_rows`); with stale rows, :meth:`derived_crosscheck`."""
        group = self._campaign(campaign)
        tallies = self.tallies(group)
        election_id = self.context.election_id
        with self.engine.connect() as conn:
            if browse.has_stale_rows(conn, election_id):
                return self.derived_crosscheck(group, page, tallies)
            found = crosscheck_rows.views_of(conn, election_id, tallies)
            statewide = crosscheck_rows.statewide_sde(conn, election_id)
            released = crosscheck_rows.released_count(conn, election_id)
        views = {code: self._maintained_view(found[code]) for code in tallies}
        party = {g: Decimal(0) + statewide.get(g, Decimal(0)) for g in self.context.candidates}
        tallied = sum(1 for v in views.values() if v.released is not None)
        return self._assemble(group, tallies, views, party, released - tallied, page=page)

    def derived_crosscheck(self, campaign: str | None, page: int = 1,
                           tallies: Mapping[str, StoredTally] | None = None) -> CrossCheck:
        """The cross-check from every precinct's status derived now and every released record (what
        :meth:`crosscheck` must say; seconds at national size)."""
        group = self._campaign(campaign)
        tallies = self.tallies(group) if tallies is None else tallies
        views = self.views()
        party = dict.fromkeys(self.context.candidates, Decimal(0))
        for view in views.values():
            if view.released is not None:
                party_sde = _decimals(view.released.record.get("sde"))
                for g in self.context.candidates:
                    party[g] += party_sde.get(g, Decimal(0))
        released_without = sum(1 for c, v in views.items() if v.released is not None and c not in tallies)
        return self._assemble(group, tallies, {code: views[code] for code in tallies}, party, released_without,
                              page=page)

    def _maintained_view(self, found: crosscheck_rows.MaintainedView) -> PrecinctView:
        info = self.context.precincts[found.code]
        if found.number is not None and found.record is not None:
            published = Released(found.code, found.number, found.record, ((found.number, found.record),))
            return PrecinctView(found.code, info.county, info.name, "released",
                                found.codes if found.state != "accepted" else (), published, found.awaiting)
        return PrecinctView(found.code, info.county, info.name, found.state, found.codes, None, found.awaiting)

    def _assemble(self, group: str, tallies: Mapping[str, StoredTally], views: Mapping[str, PrecinctView],
                  party: dict[str, Decimal], released_without: int, *, page: int) -> CrossCheck:
        """The rows of the tallies (``views``: of the tallied precincts) and the statewide effect: the released
        SDEs (``party``) with the campaign's SDEs instead where its numbers differ (where they agree, SDEs
        recomputed without the games of chance the party recorded would be a difference of nobody's)."""
        ids = tuple(sorted(t.id for t in tallies.values()))
        cached = self._checked.get(group)
        if cached is None or cached[0] != ids:
            cached = self._checked[group] = (ids, self._campaign_checks(tallies))
        findings, sdes = cached[1]
        rows = []
        compared = self._compared
        if len(compared) > COMPARED_KEPT:
            compared.clear()
        for code, tally in sorted(tallies.items()):
            view = views[code]
            differences: tuple[Difference, ...] = ()
            if view.released is not None:
                # a tally row and a released record never change: their comparison is kept by their ids
                key = (tally.id, code, view.released.number)
                found = compared.get(key)
                if found is None:
                    found = compared[key] = _differences(tally.numbers, view.released.record)
                differences = found
            rows.append(CrossCheckRow(view, tally, sdes.get(code, {}), findings.get(code, ()), differences))
        pages = max(1, -(-len(rows) // browse.PAGE_SIZE))
        if page > pages:
            raise StaffInputInvalid("page", f"page {page} is past the last page ({pages}) of the {len(rows)} "
                                            f"precincts you recorded")
        with_campaign = dict(party)
        for row in rows:
            if not row.differs or row.view.released is None:
                continue
            party_sde = _decimals(row.view.released.record.get("sde"))
            for g in self.context.candidates:
                theirs = sdes.get(row.view.code, {}).get(g)
                if theirs is not None:
                    with_campaign[g] += theirs - party_sde.get(g, Decimal(0))
        return CrossCheck(group, self.context.candidates, tuple(rows), party, with_campaign, released_without,
                          page, pages)

    def _campaign_checks(self, tallies: Mapping[str, StoredTally]
                         ) -> tuple[dict[str, tuple[Finding, ...]], dict[str, dict[str, Decimal]]]:
        """The checks of ``caucus audit`` on the campaign's numbers, and the campaign's SDEs per precinct
        (as it wrote them down; where it gave none, recomputed from its final alignment)."""
        plan = self.context.plan
        published = []
        for code, tally in tallies.items():
            p = plan.precinct_by_code(code)
            published.append(PublishedPrecinct(p.county, p.name, _ints(tally.numbers.get("first")),
                                               _ints(tally.numbers.get("final")),
                                               _decimals(tally.numbers.get("sde")), 0))
        report = audit(plan, published)
        findings: dict[str, tuple[Finding, ...]] = {}
        sdes: dict[str, dict[str, Decimal]] = {}
        for unit in report.units:
            given = _decimals(tallies[unit.code].numbers.get("sde"))
            if given:
                findings[unit.code], sdes[unit.code] = unit.findings, given
                continue
            # no SDEs written down: nothing was reported about delegates, so no check of reported delegates
            findings[unit.code] = tuple(f for f in unit.findings if f.code not in ABOUT_REPORTED_DELEGATES)
            sdes[unit.code] = {g: to_decimal(v, 4).quantize(SDE_PLACES) for g, v in unit.sde_recomputed.items()}
        return findings, sdes

    # -- quality control ---------------------------------------------------------------------------------
    def quality(self, release_list: Sequence[Any] = ()) -> Quality:
        """The quality-control summary from the maintained status rows (``precinct_status``: the state, its reason
        codes, what the newest release holds of it; grouped and indexed queries, not a derivation of every
        precinct): what :meth:`derived_quality` says. With rows left stale by a writer without the keeper (until
        the server's start-up derives them), :meth:`derived_quality`."""
        election_id = self.context.election_id
        mine = precinct_status.c.election_id == election_id
        unreleased = precinct_status.c.released_seq.is_(None)
        with self.engine.connect() as conn:
            if conn.execute(select(precinct_status.c.precinct_id).where(mine, precinct_status.c.state.is_(None))
                            .limit(1)).first() is not None:
                return self.derived_quality(release_list)
            by_state = dict.fromkeys(STATE_TITLES, 0)
            rows = 0
            # along the index (election_id, state, last_seq, released_seq): no table read, no sort
            for state, released, n in conn.execute(select(precinct_status.c.state,
                                                          func.count(precinct_status.c.released_seq), func.count())
                                                   .where(mine).group_by(precinct_status.c.state)):
                by_state["released"] += int(released)
                by_state[state] += int(n) - int(released)
                rows += int(n)
            # accepted, and not released or with entries newer than the released record (as views() says)
            awaiting = int(conn.execute(select(func.count()).select_from(precinct_status).where(
                mine, precinct_status.c.state == "accepted",
                or_(unreleased, precinct_status.c.released_seq != precinct_status.c.last_seq))).scalar_one())
            held = Counter(code for codes in conn.execute(select(precinct_status.c.codes).where(
                mine, precinct_status.c.state.in_(("held-for-review", "conflicting")), unreleased)
                .order_by(precinct_status.c.precinct_id)).scalars() for code in codes.split(",") if code)
            # along the index (election_id, released_findings): only the released records with findings
            findings = Counter(code for codes in conn.execute(select(precinct_status.c.released_findings).where(
                mine, precinct_status.c.released_findings > "")).scalars() for code in codes.split(",") if code)
        total = len(self.context.precincts)
        by_state["not-reported"] += total - rows
        checks = tuple((code, sev, rule, meaning) for code, (sev, rule, meaning) in FINDING_CODES.items())
        return Quality(total, by_state, dict(held.most_common()), by_state["released"], awaiting,
                       dict(findings.most_common()), checks, tuple(release_list))

    def derived_quality(self, release_list: Sequence[Any] = ()) -> Quality:
        """The quality-control summary from every precinct's status derived now and every released record (what
        :meth:`quality` must say; seconds at national size)."""
        views = self.views()
        statuses = Counter(v.state for v in views.values())
        held = Counter(r for v in views.values() if v.state in ("held-for-review", "conflicting") for r in v.reasons)
        findings = Counter(code for v in views.values() for code in v.findings)
        checks = tuple((code, sev, rule, meaning) for code, (sev, rule, meaning) in FINDING_CODES.items())
        by_state = {name: statuses.get(name, 0) for name in STATE_TITLES}
        return Quality(len(views), by_state, dict(held.most_common()), by_state["released"],
                       sum(1 for v in views.values() if v.awaiting), dict(findings.most_common()), checks,
                       tuple(release_list))

    # -- browse and export (caucus.service.browse) --------------------------------------------------------
    def browse(self, query: Browse, page: int = 1, per_page: int = browse.PAGE_SIZE) -> BrowsePage:
        """A page of the released precincts the filters select, and how many (from the maintained rows and the
        listed precincts' released records; with stale rows, from :meth:`derived_browse`)."""
        election_id = self.context.election_id
        with self.engine.connect() as conn:
            if not browse.has_stale_rows(conn, election_id):
                total, released = browse.count(conn, election_id, query)
                made = browse.make_page(total, released, page, per_page)
                rows = browse.page_rows(conn, election_id, query, made.first - 1, per_page,
                                        total=total) if total else []
                return dataclasses.replace(made, rows=tuple(rows))
        every = self.derived_browse(Browse())
        rows = [row for row in every if browse.matches(row, query)]
        made = browse.make_page(len(rows), len(every), page, per_page)
        return dataclasses.replace(made, rows=tuple(rows[made.first - 1:made.first - 1 + per_page]))

    def derived_browse(self, query: Browse) -> list[BrowseRow]:
        """Every released precinct the filters select, in code order, from every precinct's status derived now and
        every released record (what :meth:`browse` pages through; seconds at national size)."""
        rows = [BrowseRow(v.code, v.county, v.name, v.released.number, v.released.record, v.awaiting, v.reasons)
                for v in self.views().values() if v.released is not None]
        return sorted((row for row in rows if browse.matches(row, query)), key=lambda row: row.code)

    def export(self, query: Browse) -> Iterator[bytes]:
        """The filtered released precincts as CSV (:func:`caucus.service.browse.csv_chunks`), streamed from one
        query; with stale rows, from :meth:`derived_browse`. Whether rows are stale is read before the first
        chunk."""
        with self.engine.connect() as conn:
            stale = browse.has_stale_rows(conn, self.context.election_id)
        if stale:
            return browse.csv_chunks([self.derived_browse(query)])
        return browse.csv_chunks(browse.stream(self.engine, self.context.election_id, query))

    def crosscheck_csv(self, campaign: str | None) -> Iterator[bytes]:
        """The cross-check as CSV: the campaign's own numbers, and the party's only where released; computed before
        the first chunk (a bad campaign raises here), then streamed a chunk of ``browse.EXPORT_BATCH`` precincts
        at a time."""
        return crosscheck_chunks(self.crosscheck(campaign))

    # -- recanvass requests --------------------------------------------------------------------------------
    def request_recanvass(self, campaign: str | None, actor: str, precincts: Sequence[str], reason: str
                          ) -> RecanvassRequest:
        """File a recanvass request (``R-<n>``, HQ's flow) for released precincts of the cross-check."""
        group = self._campaign(campaign)
        codes = [c for c in dict.fromkeys(p.strip() for p in precincts) if c]
        if not codes:
            raise StaffInputInvalid("precincts", "select at least one precinct of the cross-check")
        if len(codes) > MAX_REQUEST_PRECINCTS:
            raise StaffInputInvalid("precincts", f"a request names at most {MAX_REQUEST_PRECINCTS} precincts (a page "
                                                 f"of the cross-check); you selected {len(codes)}: file the others "
                                                 f"in another request")
        unreleased = [c for c, released in self._released_of(codes).items() if not released]
        if unreleased:
            raise StaffInputInvalid("precincts", "a recanvass is asked of released numbers; not released yet: "
                                                 + ", ".join(unreleased[:5]))
        return self.recanvass.create(actor, campaign=group, kind="recanvass", precincts=codes, reason=reason)

    def _released_of(self, codes: Sequence[str]) -> dict[str, bool]:
        """Whether each of ``codes`` the plan has (as given) is released, from the maintained rows of these codes
        only (with stale rows, from :meth:`views`), in the order given."""
        with self.engine.connect() as conn:
            if not browse.has_stale_rows(conn, self.context.election_id):
                found = crosscheck_rows.views_of(conn, self.context.election_id, set(codes))
                return {c: found[c].number is not None for c in codes if c in found}
        views = self.views()
        return {c: views[c].released is not None for c in codes if c in views}

    def requests(self, campaign: str | None, page: int = 1) -> RequestsPage:
        """Page ``page`` of the campaign's requests (``REQUESTS_PAGE`` in the order filed), each with its status
        and the published before/after of its precincts (the releases' records of those precincts only)."""
        group = self._campaign(campaign)
        every = [request for request in self.recanvass.list() if request.campaign == group]
        pages = max(1, -(-len(every) // REQUESTS_PAGE))
        if page > pages:
            raise StaffInputInvalid("page", f"page {page} is past the last page ({pages}) of your {len(every)} "
                                            f"requests")
        mine = every[(page - 1) * REQUESTS_PAGE:page * REQUESTS_PAGE]
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, self.context.election_id)
            published = crosscheck_rows.histories(conn, self.context.election_id, epoch.releases_through,
                                                   {code for request in mine for code in request.precincts})
        out = []
        for request in mine:
            progress = self.recanvass.progress(request.id)
            items = []
            for item in progress.precincts:
                history = published.get(item.code, [])
                # what was published of the ledger as it stood when the request was filed, and of it since
                before = [(n, r) for n, r in history if int(r.get("ledgerSeq", 0)) <= request.as_of_seq]
                after = [(n, r) for n, r in history if int(r.get("ledgerSeq", 0)) > request.as_of_seq]
                items.append(RequestedPrecinct(item.code, item.outcome, before[-1] if before else None,
                                               after[-1] if after else None))
            out.append(CampaignRequest(request, progress, tuple(items)))
        return RequestsPage(tuple(out), page, pages, len(every))


@dataclass(frozen=True)
class RequestsPage:
    items: tuple[CampaignRequest, ...]
    page: int
    pages: int
    total: int


def crosscheck_chunks(check: CrossCheck) -> Iterator[bytes]:
    """The cross-check's lines (``code, county, precinct, state, release, candidate, measure, campaign, party,
    difference``): the header, then a chunk per ``browse.EXPORT_BATCH`` precincts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "county", "precinct", "state", "release", "candidate", "measure", "campaign",
                     "party", "difference"])
    for start in range(0, max(len(check.rows), 1), browse.EXPORT_BATCH):
        for row in check.rows[start:start + browse.EXPORT_BATCH]:
            view = row.view
            party = view.released.record if view.released is not None else None
            for measure in ("first", "final", "sde"):
                for g, mine in sorted((row.tally.numbers.get(measure) or {}).items()):
                    theirs = (party.get(measure) or {}).get(g) if party is not None else None
                    diff = next((d.delta for d in row.differences if d.measure == measure and d.group == g), None)
                    writer.writerow([view.code, view.county, view.name, view.state,
                                     view.released.number if view.released else "", g, measure, mine,
                                     "" if party is None else (theirs if theirs is not None else 0),
                                     "" if party is None else (diff if diff is not None else 0)])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()


@dataclass(frozen=True)
class RequestedPrecinct:
    code: str
    outcome: str  # pending | changed | unchanged
    before: tuple[int, Record] | None  # the release and record published before the request
    after: tuple[int, Record] | None  # the newest release since the request that changed the precinct

    def changes(self) -> tuple[Change, ...]:
        """The published numbers that changed between the release before the request and the newest since."""
        if self.before is None or self.after is None:
            return ()
        old, new = self.before[1], self.after[1]
        return tuple(Change(d.measure, d.group, d.campaign, d.party if d.party is not None else 0)
                     for d in _differences({k: old.get(k) for k in ("first", "final", "sde")}, new))


@dataclass(frozen=True)
class Change:
    measure: str
    group: str
    before: int | Decimal
    after: int | Decimal


@dataclass(frozen=True)
class CampaignRequest:
    request: RecanvassRequest
    progress: RecanvassProgress
    precincts: tuple[RequestedPrecinct, ...]

    @property
    def status(self) -> str:
        """received (nothing decided yet), under review (some decided), decided (every precinct)."""
        decided = [p for p in self.precincts if p.outcome != "pending"]
        if not decided:
            return "received"
        return "decided" if len(decided) == len(self.precincts) else "under review"


class ServiceErrorFields(StaffInputInvalid):
    def __init__(self, message: str, fields: list[FieldProblem]) -> None:
        ServiceError.__init__(self, message, fields)


def _numbers(first: Mapping[str, int], final: Mapping[str, int], sde: Mapping[str, Decimal]) -> dict[str, Any]:
    return {"first": dict(sorted(first.items())), "final": dict(sorted(final.items())),
            "sde": {g: f"{Decimal(v):.4f}" for g, v in sorted(sde.items())}}


def _parse(measure: str, text: str, into: dict[str, Any], group: str) -> str | None:
    if measure != "sde":
        if not text.isdigit() or int(text) > MAX_NUMBER:
            return f"a whole number of people from 0 to {MAX_NUMBER}; got {text!r}"
        into[group] = int(text)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return f"a decimal number of SDEs like 1.2345; got {text!r}"
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.0001")) or value > MAX_NUMBER:
        return f"a non-negative number of SDEs with at most 4 decimals; got {text!r}"
    into[group] = value
    return None


def _differences(numbers: Mapping[str, Any], record_: Mapping[str, Any]) -> tuple[Difference, ...]:
    """Where the campaign's numbers differ from the released record (the groups the campaign gave)."""
    out = []
    for measure in ("first", "final", "sde"):
        theirs = numbers.get(measure) or {}
        party = record_.get(measure) or {}
        for g in sorted(theirs):
            mine: int | Decimal = Decimal(str(theirs[g])) if measure == "sde" else int(theirs[g])
            value = party.get(g)
            published: int | Decimal = (Decimal(str(value)) if measure == "sde" else int(value)) \
                if value is not None else (Decimal(0) if measure == "sde" else 0)
            if mine != published:
                out.append(Difference(measure, g, mine, published))
    return tuple(out)


__all__ = [
    "MEASURES",
    "Browse",
    "CampaignFileInvalid",
    "CampaignRequest",
    "CampaignService",
    "Change",
    "CrossCheck",
    "CrossCheckRow",
    "Difference",
    "PrecinctView",
    "Quality",
    "Released",
    "RequestedPrecinct",
    "RequestsPage",
    "UploadResult",
]

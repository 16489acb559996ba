"""The campaigns' cross-check (``/hq/campaign``), its CSV, its recanvass request and the requests page read the
maintained state (issue 15): the status rows and released records of the precincts the campaign has tallies for,
and the statewide released SDEs kept by the releases (``released_sde_totals``, revision 0018). After every step
of a seeded random night of reports, review decisions, corrections, releases, a campaign's tallies (agreeing with
the release or not) and its recanvass requests, through a rehearsal reset and go-live, the cross-check and its CSV
equal the cross-check derived from every precinct, a recanvass is refused exactly for the precincts the derivation
says are unreleased, and the requests page's before/after are the derivation's. A tampered total is found by
``caucus state check``; stale rows fall back on the derivation. Bad parameters are refused naming themselves; a
campaign sees nothing unreleased and only its own tallies. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import random
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from caucus.ledger import LedgerError
from caucus.ledger.schema import precinct_status, released_sde_totals
from caucus.service import ServiceError, StageReport
from caucus.service.campaigns import CrossCheck, crosscheck_chunks
from caucus.service.maintained import check
from caucus.web.services import Services
from tests.hq.campaign_support import add_campaign
from tests.hq.support import add_staff, play_random, sign_in
from tests.hq.test_release_preview import NOBODY_CAME, POWESHIEK, _operations
from tests.publish.support import report
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES

GROUP = "Sanders"
#: the precincts the campaign records tallies of: those the night reports and one nobody reports
TALLIED = (*(s.precinct for s in POWESHIEK), NOBODY_CAME, GRINNELL, "Adair/01NW")


def _seen(check_: CrossCheck) -> tuple[Any, ...]:
    """What the page and the CSV show of a cross-check (a released precinct's newest record and release, not the
    releases before it)."""
    rows = tuple((r.view.code, r.view.county, r.view.name, r.view.state, r.view.reasons, r.view.awaiting,
                  None if r.view.released is None else (r.view.released.number, r.view.released.record),
                  r.tally.id, r.campaign_sde, r.campaign_findings, r.differences, r.compared, r.differs)
                 for r in check_.rows)
    return (check_.campaign, check_.candidates, rows, check_.party_sde, check_.with_campaign_sde,
            check_.released_without_tally, check_.effect(), check_.leader("party"), check_.leader("campaign"),
            check_.page, check_.pages, check_.shown == check_.rows)


def _assert_equals_the_derivation(svc: Services) -> set[str]:
    maintained = svc.campaigns.crosscheck(GROUP)
    derived = svc.campaigns.derived_crosscheck(GROUP)
    assert _seen(maintained) == _seen(derived)
    assert b"".join(svc.campaigns.crosscheck_csv(GROUP)) == b"".join(crosscheck_chunks(derived))
    # the requests' before and after: what the releases published of each requested precinct (every record)
    released = svc.campaigns.released()
    requests = svc.campaigns.requests(GROUP)
    assert requests.pages == 1  # (fewer than 20)
    for item in requests.items:
        for precinct in item.precincts:
            history = released[precinct.code].history if precinct.code in released else ()
            before = [h for h in history if int(h[1]["ledgerSeq"]) <= item.request.as_of_seq]
            after = [h for h in history if int(h[1]["ledgerSeq"]) > item.request.as_of_seq]
            assert precinct.before == (before[-1] if before else None)
            assert precinct.after == (after[-1] if after else None)
    assert check(svc.engine, svc.context).ok
    seen = set()
    if any(r.differs for r in derived.rows):
        seen.add("differs")
    if any(r.compared and not r.differs for r in derived.rows):
        seen.add("agrees")
    if any(not r.compared for r in derived.rows):
        seen.add("unreleased")
    if any(r.view.awaiting for r in derived.rows if r.compared):
        seen.add("awaiting")
    if derived.released_without_tally and any(derived.party_sde.values()):
        seen.add("statewide")
    return seen


def _play(svc: Services, seed: int, steps: int) -> set[str]:
    rng = random.Random(seed)
    candidates = svc.context.candidates

    def tally(n: int) -> object:  # the campaign's numbers of a precinct: the released ones, or others
        released = svc.campaigns.released()
        code = rng.choice([c for c in TALLIED if c in released] if released and rng.random() < 0.6 else TALLIED)
        published = released.get(code)
        values: dict[str, str] = {}
        if published is not None and rng.random() < 0.6:
            for measure in ("first", "final", "sde"):
                values.update({f"{measure}.{g}": str(v) for g, v in (published.record.get(measure) or {}).items()})
        else:
            for g in rng.sample(candidates, 3):
                first = rng.randint(0, 80)
                values[f"first.{g}"], values[f"final.{g}"] = str(first), str(first + rng.randint(0, 9))
                if rng.random() < 0.5:
                    values[f"sde.{g}"] = f"{rng.randint(0, 30000) / 10000:.4f}"
        return svc.campaigns.enter(GROUP, "campaign:sam", code, values)

    def ask(n: int) -> object:  # a recanvass of tallied precincts: refused exactly when one is not released
        views = svc.campaigns.views()
        out = [c for c in TALLIED if views[c].released is not None]
        codes = rng.sample(out, min(2, len(out))) if out and rng.random() < 0.7 else rng.sample(TALLIED, 2)
        released = all(views[c].released is not None for c in codes)
        try:
            made = svc.campaigns.request_recanvass(GROUP, "campaign:sam", codes, f"ask {n}")
        except ServiceError as error:
            assert not released and [p.field for p in error.fields] == ["precincts"], error
            raise
        assert released
        return made

    operations = [*_operations(svc, rng), tally, tally, tally, ask]
    for script in POWESHIEK[:2]:
        report(svc.reports, script, prefix=f"base-{seed}")
    svc.releases.release(actor="director:dora", note="the first precincts")
    svc.campaigns.enter(GROUP, "campaign:sam", POWESHIEK[0].precinct, {"first.Biden": "3", "final.Biden": "4"})
    return play_random(rng, operations, steps, (ServiceError, LedgerError, IndexError),
                       lambda: _assert_equals_the_derivation(svc))


def test_the_crosscheck_equals_the_derivation_through_a_random_night(hq: Web, svc: Services) -> None:
    _assert_equals_the_derivation(svc)
    done = _play(svc, 41, 12)
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    assert svc.campaigns.crosscheck(GROUP).rows == ()  # the rehearsal's tallies and releases are set aside
    done |= _play(svc, 42, 5)
    svc.election.go_live("director:dora", confirm=SLUG)
    done |= _play(svc, 43, 12)
    assert done >= {"release", "tally", "ask", "differs", "agrees", "unreleased", "statewide"}, done


def _release_grinnell(svc: Services) -> None:
    for stage, numbers in STAGES:
        svc.reports.submit(GRINNELL, StageReport(stage, numbers), f"g-{stage}", channel="app", actor="chair")
    svc.releases.release(actor="director:dora")


def test_a_tampered_total_is_found_and_stale_rows_fall_back_on_the_derivation(hq: Web, svc: Services) -> None:
    _release_grinnell(svc)
    svc.campaigns.enter(GROUP, "campaign:sam", GRINNELL, {"first.Sanders": "70", "final.Sanders": "80"})
    with svc.engine.begin() as conn:
        conn.execute(update(released_sde_totals).where(released_sde_totals.c.grp == "Warren").values(sde="9.9"))
    result = check(svc.engine, svc.context)
    assert not result.ok
    assert result.differences == (("(released SDEs of Warren)", "stored 9.9, the releases make 0.8400"),)
    with svc.engine.begin() as conn:  # a stale row (a writer without the keeper): the derivation answers
        conn.execute(update(precinct_status).values(state=None, released_number=None))
    found = svc.campaigns.crosscheck(GROUP)
    assert found.party_sde["Warren"] == Decimal("0.8400")
    assert found.rows[0].view.released is not None and found.rows[0].view.released.number == 1


def test_bad_parameters_are_refused_naming_the_parameter(hq: Web, svc: Services) -> None:
    add_campaign(hq.engine, "sam", GROUP)
    sam = sign_in(hq.client, "sam")
    assert sam.get("/hq/campaign?page=1").status_code == 200  # nothing recorded: one empty page
    for query in ("page=-1", "page=abc", "page=0", "page=2"):
        answer = sam.get(f"/hq/campaign?{query}")
        assert answer.status_code == 422, query
        assert 'id="error-page"' in answer.text, query
    assert "page 2 is past the last page (1) of the 0 precincts you recorded" in sam.get("/hq/campaign?page=2").text
    for query in ("page=x", "page=0", "page=2"):
        answer = sam.get(f"/hq/campaign/requests?{query}")
        assert answer.status_code == 422 and 'id="error-page"' in answer.text, query
    assert "page 2 is past the last page (1) of your 0 requests" in sam.get("/hq/campaign/requests?page=2").text
    many = [p.code for p in svc.context.plan.precincts[:101]]
    refused = sam.post("/hq/campaign/recanvass", {"precinct": many, "reason": "ours differ"})
    assert refused.status_code == 422 and 'id="error-precincts"' in refused.text
    assert "at most 100 precincts" in refused.text and "you selected 101" in refused.text
    refused = sam.post("/hq/campaign/recanvass", {"precinct": [GRINNELL], "reason": "ours differ"})
    assert refused.status_code == 422 and 'id="error-precincts"' in refused.text and "not released" in refused.text
    add_staff(hq.engine, "oscar", "observer")  # not a campaign: none of the campaign's pages
    oscar = sign_in(hq.client, "oscar")
    for path in ("/hq/campaign", "/hq/campaign/crosscheck.csv", "/hq/campaign/requests"):
        assert oscar.get(path).status_code == 403, path


def test_a_campaign_sees_nothing_unreleased_and_only_its_own_tallies(hq: Web, svc: Services) -> None:
    _release_grinnell(svc)
    attendance = dict(STAGES)["attendance"]["attendance"]
    final = dict(STAGES)["final"]["counts"]
    svc.review.correct("reviewer:rita", GRINNELL, {"final": {"counts": {**final, "Warren": 120}}}, reason="recount",
                       key="fix")
    script = POWESHIEK[1]  # accepted, never released
    report(svc.reports, script, prefix="unreleased")
    add_campaign(hq.engine, "sam", GROUP)
    add_campaign(hq.engine, "bea", "Biden")
    svc.campaigns.enter(GROUP, "campaign:sam", GRINNELL, {"first.Sanders": "66", "final.Sanders": "79"})
    svc.campaigns.enter(GROUP, "campaign:sam", script.precinct, {"first.Sanders": "1", "final.Sanders": "2"})
    svc.campaigns.enter("Biden", "campaign:bea", "Adams/AD1", {"first.Biden": "17", "final.Biden": "19"})
    sam = sign_in(hq.client, "sam")
    page = sam.get("/hq/campaign")
    assert page.status_code == 200
    grinnell = page.text.split(f'<tr data-precinct="{GRINNELL}"')[1].split("</tr>")[0]
    assert "Warren 124" in grinnell and "Warren 120" not in page.text  # the released final, not the correction
    assert "a correction awaits release" in grinnell or 'class="reasons"' in grinnell  # (or held again)
    unreleased = page.text.split(f'<tr data-precinct="{script.precinct}"')[1].split("</tr>")[0]
    assert 'data-state="accepted"' in unreleased and "not released" in unreleased
    assert "Adams/AD1" not in page.text  # the Biden campaign's tally
    lines = list(csv.DictReader(io.StringIO(sam.get("/hq/campaign/crosscheck.csv").text)))
    assert {line["code"] for line in lines} == {GRINNELL, script.precinct}
    assert all(line["party"] == "" and line["difference"] == "" for line in lines if line["code"] == script.precinct)
    assert {(line["measure"], line["party"], line["difference"]) for line in lines if line["code"] == GRINNELL} \
        == {("first", "66", "0"), ("final", "78", "1")}
    assert str(attendance) not in {line["party"] for line in lines}


def test_the_requests_page_lists_twenty_a_page_in_the_order_filed(hq: Web, svc: Services) -> None:
    _release_grinnell(svc)
    add_campaign(hq.engine, "sam", GROUP)
    for n in range(21):
        svc.campaigns.request_recanvass(GROUP, "campaign:sam", [GRINNELL], f"ask {n}")
    sam = sign_in(hq.client, "sam")
    first, second = sam.get("/hq/campaign/requests"), sam.get("/hq/campaign/requests?page=2")
    assert first.status_code == second.status_code == 200
    assert re.findall(r'data-request="(R-\d+)"', first.text) == [f"R-{n}" for n in range(1, 21)]
    assert re.findall(r'data-request="(R-\d+)"', second.text) == ["R-21"]
    assert 'href="/hq/campaign/requests?page=2" rel="next"' in first.text
    assert 'rel="next"' not in second.text and "21 requests, page 2 of 2" in second.text

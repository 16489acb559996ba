"""Issue 13 end to end on real data: the party's ledger holds the certified 2020 numbers of every precinct of
Polk, Fayette and Linn whose certified numbers pass the checks (250 precincts, seeded through the
ReportService as the chairs would report them), released; the Sanders campaign uploads, as its own tallies,
those counties' rows of the 6 February 2020 release. The cross-check must list exactly the released
precincts whose numbers differ between the two files (computed here from the two CSVs with the csv module),
with the right differences and the statewide SDE effect; the campaign files a recanvass from that list; HQ
corrects one precinct and confirms another; the campaign sees the decisions and the published difference."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

from caucus.plans import load_plan
from caucus.web.services import Services
from tests.hq.campaign_support import CERTIFIED, FEB6, add_campaign, lines_of, raw, scripts, seed
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web

COUNTIES = ("Polk", "Fayette", "Linn")


def every_page(client: Any) -> str:
    """Every page of the cross-check's rows, following its "next" links (a page of 100 rows each)."""
    texts, path = [], "/hq/campaign"
    while path:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text[:300]
        texts.append(answer.text)
        found = re.search(r'<a href="(/hq/campaign\?page=\d+)" rel="next">', answer.text)
        path = found.group(1) if found else ""
    return "".join(texts)
MEASURES = {"expression_1": "first", "expression_2": "final", "sde": "sde"}


def test_the_crosscheck_lists_exactly_the_precincts_that_differ_and_a_recanvass_follows(
        hq_sqlite: Web) -> None:
    web = hq_sqlite
    svc: Services = web.client.app_state["services"]
    plan = load_plan("iowa-2020")
    feb6, certified = raw(FEB6, COUNTIES), raw(CERTIFIED, COUNTIES)
    code_of = {key: plan.find_precinct(*key).code for key in certified}  # type: ignore[union-attr]
    seeded = set(seed(svc.reports, COUNTIES))
    assert len(seeded) >= 240
    first = svc.releases.release(actor="director:dora")
    assert first.precincts_reporting == len(seeded)

    # independently: which released precincts differ between the two files, and how
    expected: dict[str, dict[tuple[str, str], tuple[Decimal, Decimal]]] = {}
    for key, theirs in feb6.items():
        code = code_of[key]
        if code not in seeded:
            continue
        diff = {(g, MEASURES[m]): (v, certified[key].get((g, m), Decimal(0))) for (g, m), v in theirs.items()
                if v != certified[key].get((g, m), Decimal(0))}
        if diff:
            expected[code] = diff
    assert 8 <= len(expected) <= 30

    add_campaign(web.engine, "sam", "Sanders")
    sam = sign_in(web.client, "sam")
    uploaded = sam.post("/hq/campaign/upload", files={"file": ("captains.csv", lines_of(FEB6, COUNTIES), "text/csv")})
    assert uploaded.status_code == 303, uploaded.text
    page = sam.get("/hq/campaign")
    assert page.status_code == 200
    text = every_page(sam)
    assert len(re.findall(r'<tr data-precinct="', page.text)) == 100  # a page of 100 of the 400-odd recorded
    differing = set(re.findall(r'<tr data-precinct="([^"]+)" data-state="released" class="differs">', text))
    assert differing == set(expected)
    unreleased = {code_of[k] for k in feb6} - seeded
    assert unreleased  # precincts whose certified numbers the checks refute: never reported here
    for code in unreleased:
        assert re.search(rf'<tr data-precinct="{re.escape(code)}" data-state="not-reported">', text), code

    exported = sam.get("/hq/campaign/crosscheck.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    found: dict[str, dict[tuple[str, str], tuple[Decimal, Decimal]]] = {}
    for row in csv.DictReader(io.StringIO(exported.text)):
        if row["party"] == "":
            assert row["code"] in unreleased and row["difference"] == ""
            continue
        if Decimal(row["difference"]):
            found.setdefault(row["code"], {})[(row["candidate"], row["measure"])] = (Decimal(row["campaign"]),
                                                                                    Decimal(row["party"]))
            assert Decimal(row["difference"]) == Decimal(row["campaign"]) - Decimal(row["party"])
    assert found == expected

    # the statewide effect: the released SDEs with the campaign's where they differ
    effect: dict[str, Decimal] = {}
    for diff in expected.values():
        for (group, measure), (mine, published) in diff.items():
            if measure == "sde":
                effect[group] = effect.get(group, Decimal(0)) + mine - published
    table = dict(re.findall(r'<tr[^>]*data-group="(\w+)"><th>\w+</th><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>',
                            page.text))
    assert set(table) == set(plan.candidates) and set(effect) < set(table)
    for group in plan.candidates:  # a group none of whose SDEs differ: no change
        assert Decimal(table[group]) == effect.get(group, Decimal(0)), group

    # a recanvass from the list: two differing precincts, one the 6 February numbers of which pass the checks
    passing = scripts(FEB6, COUNTIES)
    fixed = next(code for code in sorted(expected) if code in passing)
    stands = next(code for code in sorted(expected) if code != fixed)
    refused = sam.post("/hq/campaign/recanvass", {"precinct": [fixed, stands], "reason": ""})
    assert refused.status_code == 422 and "error-reason" in refused.text
    filed = sam.post("/hq/campaign/recanvass", {"precinct": [fixed, stands],
                                                "reason": "our captains' worksheets differ from the release"})
    assert filed.status_code == 303, filed.text
    assert "R-1" in filed.headers["location"]
    requests = sam.get("/hq/campaign/requests").text
    assert 'data-request="R-1" data-status="received"' in requests

    # HQ (a reviewer) sees the request in today's flow, corrects one precinct and confirms the other
    add_staff(web.engine, "rita", "reviewer")
    assert "Sanders" in sign_in(web.client, "rita").get("/hq/recanvass/R-1").text
    stages = {s.pop("stage"): s for s in (dict(stage) for stage in passing[fixed].stages)}
    svc.recanvass.correct("reviewer:rita", 1, fixed, stages, note="worksheet re-checked", key="r1-fixed")  # type: ignore[arg-type]
    svc.recanvass.unchanged("reviewer:rita", 1, stands, "worksheet matches the release")
    waiting = sam.get("/hq/campaign/requests").text
    assert 'data-request="R-1" data-status="decided"' in waiting
    assert re.search(rf'data-precinct="{re.escape(fixed)}" data-outcome="changed">.*?awaiting release', waiting,
                     re.S)
    second = svc.releases.release(actor="director:dora", note="after R-1")
    after = sam.get("/hq/campaign/requests").text
    row = re.search(rf'<tr data-precinct="{re.escape(fixed)}" data-outcome="changed">(.*?)</tr>', after, re.S)
    assert row is not None and f"release {second.number}" in row.group(1) and f"release {first.number}" in row.group(1)
    changes = set(re.findall(r'data-measure="(\w+)" data-group="(\w+)">([^<]*)<', row.group(1)))
    assert changes == {(m, g, f"{m} {g}: {published} → {mine}")
                       for (g, m), (mine, published) in expected[fixed].items()}
    assert re.search(rf'data-precinct="{re.escape(stands)}" data-outcome="unchanged">.*?the numbers stand', after,
                     re.S)
    # and the corrected precinct no longer differs from the campaign's numbers
    again = every_page(sam)
    assert re.search(rf'<tr data-precinct="{re.escape(fixed)}" data-state="released">', again)

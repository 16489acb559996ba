"""The NIST SP 1500-100 v2 (Election Results Common Data Format) JSON export of a release.

One ElectionReport, ``Format: precinct-level``: GpUnits for the state, each county or satellite pool and
each precinct or satellite site; the candidates; four CandidateContests over the state, one per published
result set (first alignment, final alignment, county delegates, state delegate equivalents), with a
VoteCounts per released precinct and candidate. Validated against the vendored schema in the tests
(``src/caucus/publish/schema/``). Caucus specifics use the standard's ``other`` escapes: the election's
Type is ``other`` (OtherType ``caucus``), a satellite pool's GpUnit ``other`` (``satellite-pool``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from caucus import __version__
from caucus.plans import Plan
from caucus.publish.model import ReleaseMeta, iso, slug
from caucus.publish.tally import Totals

CONTESTS = (
    ("first-alignment", "First alignment", "first"),
    ("final-alignment", "Final alignment", "final"),
    ("county-delegates", "County delegates", "delegates"),
    ("sde", "State delegate equivalents", "sde"),
)


def _text(content: str) -> dict[str, Any]:
    return {"@type": "ElectionResults.InternationalizedText",
            "Text": [{"@type": "ElectionResults.LanguageString", "Content": content, "Language": "en"}]}


def _status(meta: ReleaseMeta, reporting: int, total: int) -> str:
    if meta.status == "certified":
        return "certified"
    if meta.zero:
        return "pre-election"
    return "unofficial-complete" if reporting == total else "unofficial-partial"


def vote_count(unit: str, value: int | Decimal) -> str:
    """One VoteCounts object as compact JSON (``unit``: the GpUnit id as a JSON string)."""
    number = str(value) if isinstance(value, int) else float.__repr__(float(value))
    return '{"@type":"ElectionResults.VoteCounts","GpUnitId":' + unit + ',"Type":"total","Count":' + number + "}"


def election_report(plan: Plan, meta: ReleaseMeta, *, counties: Mapping[str, int], state: Totals, reporting: int,
                    placeholder: Callable[[str], str]) -> dict[str, Any]:
    """The ElectionReport with placeholders where the big lists go (filled by the builder from kept parts):
    ``placeholder("gp")`` for the precincts' GpUnits after the state's and the counties', and
    ``placeholder(f"vc-{contest}-{group}")`` for each selection's VoteCounts. ``counties``: precincts
    reporting by county."""
    units: list[Any] = [{
        "@id": "gp-state", "@type": "ElectionResults.ReportingUnit", "Type": "state", "Name": _text("Iowa"),
        "ComposingGpUnitIds": [f"gp-county-{slug(c)}" for c in plan.counties],
        "SubUnitsReported": reporting, "TotalSubUnits": state.total,
    }]
    for county in plan.counties.values():
        members = plan.precincts_in(county.name)
        unit: dict[str, Any] = {
            "@id": f"gp-county-{slug(county.name)}", "@type": "ElectionResults.ReportingUnit",
            "Type": "county" if county.kind == "county" else "other", "Name": _text(county.name),
            "ComposingGpUnitIds": [f"gp-precinct-{slug(p.code)}" for p in members],
            "SubUnitsReported": counties[county.name],
            "TotalSubUnits": len(members),
        }
        if county.kind != "county":
            unit["OtherType"] = "satellite-pool"
        units.append(unit)
    units.append(placeholder("gp"))
    candidates = [{"@id": f"cand-{slug(g)}", "@type": "ElectionResults.Candidate", "BallotName": _text(g),
                   "PartyId": "party-dem"} for g in plan.candidates]
    contests = []
    for key, name, _ in CONTESTS:
        selections = [{"@id": f"sel-{key}-{slug(g)}", "@type": "ElectionResults.CandidateSelection",
                       "CandidateIds": [f"cand-{slug(g)}"], "SequenceOrder": order,
                       "VoteCounts": placeholder(f"vc-{key}-{g}")}
                      for order, g in enumerate(plan.candidates, start=1)]
        contests.append({
            "@id": f"contest-{key}", "@type": "ElectionResults.CandidateContest", "Name": name,
            "ElectionDistrictId": "gp-state", "VotesAllowed": 1, "VoteVariation": "other",
            "OtherVoteVariation": "caucus", "PrimaryPartyIds": ["party-dem"],
            "SubUnitsReported": reporting, "TotalSubUnits": state.total, "ContestSelection": selections,
        })
    day = meta.election_date or iso(meta.created_at)[:10]
    return {
        "@type": "ElectionResults.ElectionReport",
        "Format": "precinct-level",
        "GeneratedDate": iso(meta.created_at),
        "Issuer": meta.title,
        "IssuerAbbreviation": meta.election,
        "IsTest": meta.test,
        "Notes": f"release {meta.number}" + (f": {meta.note}" if meta.note else ""),
        "SequenceStart": 1,
        "SequenceEnd": 1,
        "Status": _status(meta, reporting, state.total),
        "VendorApplicationId": f"caucus {__version__}",
        "Party": [{"@id": "party-dem", "@type": "ElectionResults.Party", "Name": _text(plan.settings.party),
                   "Abbreviation": _text("".join(w[0] for w in plan.settings.party.split() if w[:1].isupper())
                                         or plan.settings.party)}],
        "GpUnit": units,
        "Election": [{
            "@type": "ElectionResults.Election", "ElectionScopeId": "gp-state", "Name": _text(meta.title),
            "StartDate": day, "EndDate": day, "Type": "other", "OtherType": "caucus",
            "Candidate": candidates, "Contest": contests,
        }],
    }

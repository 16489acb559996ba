"""The NIST SP 1500-100 v2 (Election Results Common Data Format) JSON export of a release.

One ElectionReport, ``Format: precinct-level``: GpUnits for the state, each county or satellite pool and
each precinct or satellite site; the candidates; four CandidateContests over the state, one per published
result set (first alignment, final alignment, county delegates, state delegate equivalents), with a
VoteCounts per released precinct and candidate. Validated against the vendored schema in the tests
(``src/caucus/publish/schema/``). Caucus specifics use the standard's ``other`` escapes: the election's
Type is ``other`` (OtherType ``caucus``), a satellite pool's GpUnit ``other`` (``satellite-pool``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from caucus import __version__
from caucus.plans import Plan
from caucus.publish.model import Record, ReleaseMeta, iso, slug
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


def _number(value: int | Decimal) -> int | float:
    return value if isinstance(value, int) else float(value)


def election_report(plan: Plan, meta: ReleaseMeta, records: Mapping[str, Record], *,
                    sdes: Mapping[str, Mapping[str, Decimal] | None], state: Totals, reporting: int
                    ) -> dict[str, Any]:
    units: list[dict[str, Any]] = [{
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
            "SubUnitsReported": 0 if meta.zero else sum(1 for p in members if p.code in records),
            "TotalSubUnits": len(members),
        }
        if county.kind != "county":
            unit["OtherType"] = "satellite-pool"
        units.append(unit)
    for p in plan.precincts:
        unit = {"@id": f"gp-precinct-{slug(p.code)}", "@type": "ElectionResults.ReportingUnit",
                "Type": "precinct" if p.kind == "precinct" else "other", "Name": _text(p.name),
                "ExternalIdentifier": [{"@type": "ElectionResults.ExternalIdentifier", "Type": "local-level",
                                        "Value": p.code}]}
        if p.kind != "precinct":
            unit["OtherType"] = "satellite-caucus"
        record = records.get(p.code)
        if record is not None and record.get("attendance") is not None:
            unit["VotersParticipated"] = int(record["attendance"])
        units.append(unit)
    candidates = [{"@id": f"cand-{slug(g)}", "@type": "ElectionResults.Candidate", "BallotName": _text(g),
                   "PartyId": "party-dem"} for g in plan.candidates]
    released = [(f"gp-precinct-{slug(p.code)}", p.code, records[p.code]) for p in plan.precincts
                if p.code in records]
    contests = []
    for key, name, field in CONTESTS:
        columns = [(unit, sdes.get(code) if field == "sde" else record[field]) for unit, code, record in released]
        selections = []
        for order, g in enumerate(plan.candidates, start=1):
            counts = [{"@type": "ElectionResults.VoteCounts", "GpUnitId": unit, "Type": "total",
                       "Count": _number(values[g])}
                      for unit, values in columns if values is not None and g in values]
            selections.append({"@id": f"sel-{key}-{slug(g)}", "@type": "ElectionResults.CandidateSelection",
                               "CandidateIds": [f"cand-{slug(g)}"], "SequenceOrder": order, "VoteCounts": counts})
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

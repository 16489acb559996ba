"""A release's documents: a pure function from the released precinct records and the plan to files.

``build_documents(plan, meta, records, changes, released_in)`` returns ``{relative path: bytes}``::

    release.json                         the release's own facts
    feed/statewide.json  .csv            statewide totals, SDE leader, national delegate projection
    feed/counties.json   .csv            every county (and satellite pool) with its totals and leader
    feed/county/<slug>.json  .csv        one county with its precincts
    feed/precincts.json  .csv            every precinct (released ones with their numbers)
    feed/precinct/<slug>.json            one released precinct with its provenance
    feed/changes.json                    what changed since the previous release, precinct by precinct
    nist/election-report.json            the NIST SP 1500-100 v2 JSON export

and :func:`plan_documents` the plan the release was computed with, as its files were read::

    plan/plan.toml  plan/counties.csv  plan/precincts.csv  [plan/boundaries.geojson]

The same inputs always give the same bytes (the golden tests rely on it). Formats: docs/feed.md. The small
documents read by people (release, statewide, changes) are indented; the many or large ones are compact
(Python's C encoder only runs without indentation: several times faster, which is release latency).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from caucus.plans import Plan
from caucus.publish.model import Record, ReleaseMeta, json_bytes, slug
from caucus.publish.nist import election_report
from caucus.publish.tally import Totals, national_projection, published_sdes, totals_of

CSV_HEAD = ("release", "status", "test", "lastUpdated", "precinctsReporting", "precinctsTotal")


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(["true" if v is True else "false" if v is False else "" if v is None else v for v in row])
    return out.getvalue().encode()


def _reporting(meta: ReleaseMeta, totals: Totals) -> int:
    return 0 if meta.zero else totals.reporting


def _precinct_summary(plan: Plan, code: str, records: Mapping[str, Record],
                      sdes: Mapping[str, Mapping[str, Decimal] | None]) -> dict[str, Any]:
    p = plan.precinct_by_code(code)
    record = records.get(code)
    summary: dict[str, Any] = {"code": code, "slug": slug(code), "county": p.county, "name": p.name,
                               "kind": p.kind, "reported": record is not None}
    if record is None:
        return summary
    sde = sdes.get(code)
    summary.update({
        "delegatesToElect": record.get("delegatesToElect"),
        "attendance": record.get("attendance"),
        "firstAlignment": dict(record["first"]),
        "finalAlignment": dict(record["final"]),
        "countyDelegates": dict(record["delegates"]),
        "sde": {g: str(v) for g, v in sorted(sde.items())} if sde is not None else None,
    })
    return summary


def _precinct_rows(head: list[Any], plan: Plan, codes: Sequence[str],
                   records: Mapping[str, Record], sdes: Mapping[str, Mapping[str, Decimal] | None]) -> bytes:
    rows: list[Sequence[Any]] = [(*CSV_HEAD, "county", "precinct", "precinctName", "candidate", "firstAlignment",
                                  "finalAlignment", "countyDelegates", "sde")]
    for code in codes:
        record = records.get(code)
        if record is None:
            continue
        sde = sdes.get(code)
        name = plan.precinct_by_code(code).name
        for g in plan.candidates:
            value = sde.get(g) if sde is not None else None
            rows.append((*head, record["county"], code, name, g, record["first"].get(g, 0),
                         record["final"].get(g, 0), record["delegates"].get(g, 0),
                         "" if sde is None else str(value if value is not None else "0.0000")))
    return _csv(rows)


def build_documents(plan: Plan, meta: ReleaseMeta, records: Mapping[str, Record],
                    changes: Sequence[Mapping[str, Any]], released_in: Mapping[str, int]) -> dict[str, bytes]:
    """Every file of release ``meta.number`` (see the module docstring)."""
    files: dict[str, bytes] = {}
    codes = [p.code for p in plan.precincts]
    sdes = published_sdes(plan, records)
    state = totals_of(plan.candidates, codes, records, sdes)
    reporting = _reporting(meta, state)
    header = meta.header(reporting, state.total)
    national = national_projection(plan, records, sdes)
    csv_head = [meta.number, meta.status, meta.test, header["lastUpdated"], reporting, state.total]

    head = meta.head_json()
    files["release.json"] = json_bytes({**header, "previous": meta.previous, "plan": plan.name,
                                        **({"ledgerHead": head} if head is not None else {})})
    files["feed/statewide.json"] = json_bytes({
        **header,
        "sdeLeader": state.leader(),
        "candidates": state.rows(national["byCandidate"] if national else None),
        "nationalDelegates": national,
    })
    files["feed/statewide.csv"] = _csv([
        (*CSV_HEAD, "candidate", "firstAlignment", "finalAlignment", "countyDelegates", "sde", "nationalDelegates"),
        *[(*csv_head, r["name"], r["firstAlignment"], r["finalAlignment"], r["countyDelegates"], r["sde"],
           r.get("nationalDelegates", "")) for r in state.rows(national["byCandidate"] if national else None)],
    ])

    county_docs = []
    county_rows: list[Sequence[Any]] = [(*CSV_HEAD, "county", "district", "countyPrecinctsReporting",
                                         "countyPrecinctsTotal", "candidate", "firstAlignment", "finalAlignment",
                                         "countyDelegates", "sde")]
    for county in plan.counties.values():
        members = [p.code for p in plan.precincts_in(county.name)]
        totals = totals_of(plan.candidates, members, records, sdes)
        summary: dict[str, Any] = {
            "name": county.name, "slug": slug(county.name), "kind": county.kind, "district": county.district,
            "precinctsReporting": _reporting(meta, totals), "precinctsTotal": totals.total,
            "sdeLeader": totals.leader(), "candidates": totals.rows(),
        }
        county_docs.append(summary)
        for r in summary["candidates"]:
            county_rows.append((*csv_head, county.name, county.district, summary["precinctsReporting"],
                                totals.total, r["name"], r["firstAlignment"], r["finalAlignment"],
                                r["countyDelegates"], r["sde"]))
        files[f"feed/county/{summary['slug']}.json"] = json_bytes(compact=True, obj={
            **header, "county": summary,
            "precincts": [_precinct_summary(plan, code, records, sdes) for code in members],
        })
        files[f"feed/county/{summary['slug']}.csv"] = _precinct_rows(csv_head, plan, members, records, sdes)
    files["feed/counties.json"] = json_bytes({**header, "counties": county_docs}, compact=True)
    files["feed/counties.csv"] = _csv(county_rows)

    files["feed/precincts.json"] = json_bytes(compact=True, obj={
        **header, "precincts": [_precinct_summary(plan, code, records, sdes) for code in codes]})
    files["feed/precincts.csv"] = _precinct_rows(csv_head, plan, codes, records, sdes)
    for code in codes:
        record = records.get(code)
        if record is None:
            continue
        sde = sdes.get(code)
        detail = {**record, "sde": {g: str(v) for g, v in sorted(sde.items())} if sde is not None else None,
                  "slug": slug(code), "releasedIn": released_in.get(code, meta.number),
                  "test": meta.test, "zero": meta.zero}
        files[f"feed/precinct/{slug(code)}.json"] = json_bytes(detail, compact=True)
    files["feed/changes.json"] = json_bytes({
        "feed": header["feed"], "election": meta.election, "release": meta.number, "previous": meta.previous,
        "lastUpdated": header["lastUpdated"], "changes": list(changes)})
    files["nist/election-report.json"] = json_bytes(
        election_report(plan, meta, records, sdes=sdes, state=state, reporting=reporting), compact=True)
    return files


PLAN_DIR = "plan/"


def plan_documents(plan: Plan) -> dict[str, bytes]:
    """The plan's own files under ``plan/``, byte for byte: with them (hashed in the manifest) anyone can
    recompute the release without any other copy of the plan (``caucus verify-release``)."""
    return {PLAN_DIR + name: data for name, data in plan.files.items()}

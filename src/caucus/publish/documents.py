"""A release's documents: a pure function from the released precinct records and the plan to files, built
incrementally.

``build_documents(plan, meta, records, changes, released_in)`` returns ``{relative path: bytes}``::

    release.json                         the release's own facts
    feed/statewide.json  .csv            statewide totals, SDE leader, national delegate projection
    feed/counties.json   .csv            every county (and satellite pool) with its totals and leader
    feed/county/<slug>.json  .csv        one county with its precincts (no release number: unchanged between
                                         releases until one of its precincts changes)
    feed/precincts.json  .csv            every precinct (released ones with their numbers)
    feed/precinct/<slug>.json            one released precinct with its provenance
    feed/changes.json                    what changed since the previous release, precinct by precinct
    nist/election-report.json            the NIST SP 1500-100 v2 JSON export

feed/precincts.json, .csv and the NIST export (:data:`BULK_FILES`: every precinct of the state) are left out with
``bulk=False``: a release within the bulk interval carries an earlier release's (:mod:`caucus.publish.bulk`,
docs/feed.md).

and :func:`plan_documents` the plan the release was computed with, as its files were read::

    plan/plan.toml  plan/counties.csv  plan/precincts.csv  [plan/boundaries.geojson]

:class:`FeedBuilder` keeps what the aggregate documents are made of (each precinct's summary, CSV rows and
NIST fragments, each county's sums): given only the precincts that changed since the release it last built,
it rebuilds their documents, their counties' documents and the aggregates, and names every other document
unchanged (the store hard-links those). A build from nothing and a build from changes give the same bytes
(the tests build both ways and compare). The same inputs always give the same bytes (the golden tests rely
on it). Formats: docs/feed.md. The small documents read by people (release, statewide, changes) are indented;
the many or large ones are compact (Python's C encoder only runs without indentation).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from caucus.plans import Plan
from caucus.publish.model import Record, ReleaseMeta, json_bytes, slug
from caucus.publish.nist import CONTESTS, _text, election_report, vote_count
from caucus.publish.tally import Totals, national_from_sums, published_sdes

CSV_HEAD = ("release", "status", "test", "lastUpdated", "precinctsReporting", "precinctsTotal")
#: the columns a county CSV starts with (nothing that changes from release to release without its numbers)
COUNTY_CSV_HEAD = ("status", "test")
#: the header fields of a county document (docs/feed.md): the release's facts that change only with the
#: results' standing, never merely with the release number
COUNTY_HEADER = ("feed", "election", "title", "status", "test", "zero", "certifiedAct")
_ROW_TAIL = ("county", "precinct", "precinctName", "candidate", "firstAlignment", "finalAlignment",
             "countyDelegates", "sde")
_MARK = b"\x00"  # where a CSV row's release columns go
_BLOCK = 16  # precincts (in plan order) per cached run of NIST vote counts
#: the whole-state files that hold every precinct (~70 % of a release's bytes): built only when a release's
#: bulk interval says so (:mod:`caucus.publish.bulk`); otherwise the release carries release m's (docs/feed.md)
BULK_FILES = ("feed/precincts.csv", "feed/precincts.json", "nist/election-report.json")


def _cell(v: Any) -> Any:
    return "true" if v is True else "false" if v is False else "" if v is None else v


def _csv(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode()


def _csv_fields(row: Sequence[Any]) -> bytes:
    """One CSV row's fields without the line end (to put in front of cached rows)."""
    return _csv([row])[:-1]


def _reporting(meta: ReleaseMeta, totals: Totals) -> int:
    return 0 if meta.zero else totals.reporting


def _sde_text(sde: Mapping[str, Decimal] | None) -> dict[str, str] | None:
    return {g: str(v) for g, v in sorted(sde.items())} if sde is not None else None


def _placeholder(name: str) -> str:
    return f"\x00{name}\x00"


def _fill(text: bytes, parts: Mapping[str, bytes]) -> bytes:
    """``text`` (compact JSON with placeholder strings) with each placeholder replaced by its JSON text (one
    join: the parts can be hundreds of megabytes)."""
    found = []
    for name, value in parts.items():
        token = json.dumps(_placeholder(name), ensure_ascii=False).encode()
        at = text.find(token)
        if at < 0 or text.find(token, at + 1) >= 0:
            raise ValueError(f"the plan's text contains the placeholder {token!r}")
        found.append((at, len(token), value))
    pieces, done = [], 0
    for at, length, value in sorted(found, key=lambda f: f[0]):
        pieces += [text[done:at], value]
        done = at + length
    pieces.append(text[done:])
    return b"".join(pieces)


@dataclass
class _Precinct:
    """What the aggregate documents hold of one released precinct."""

    numbers: str  # JSON [first, final, delegates, sde as strings or null]: to take them off its county's sums
    summary: bytes
    rows: bytes  # its CSV rows after the release columns, each line starting with _MARK


@dataclass
class Built:
    """One release's feed files built now (``full``: all of them; otherwise every feed file not among them is
    the previous build's) and the state to keep once the release is recorded (:meth:`FeedBuilder.commit`)."""

    number: int
    files: dict[str, bytes]
    full: bool
    _state: Any = field(default=None, repr=False)


class FeedBuilder:
    """The feed documents of one plan's releases, each built from the changes since the previous one."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.codes = [p.code for p in plan.precincts]
        self.members = {c: [p.code for p in plan.precincts_in(c)] for c in plan.counties}
        self.county_of = {p.code: p.county for p in plan.precincts}
        self.position = {code: i for i, code in enumerate(self.codes)}
        self.pool_sites = {c: self.members[c] for c, county in plan.counties.items()
                           if county.kind == "satellite-pool"}
        self._gp_ids = {code: json.dumps(f"gp-precinct-{slug(code)}") for code in self.codes}
        self._streams: list[Any] = ["summary", "gp", "rows",
                                    *[(key, g) for key, _, _ in CONTESTS for g in plan.candidates]]
        self.reset()

    def reset(self) -> None:
        """Forget every release: the next build is a full one."""
        self.number: int | None = None
        self._header: dict[str, Any] | None = None
        self._released: dict[str, _Precinct] = {}
        self._summary: dict[str, bytes] = {}
        self._gp: dict[str, bytes] = {}
        self._county: dict[str, Totals] = {}
        self._county_rows: dict[str, bytes] = {}
        self._county_doc: dict[str, dict[str, Any]] = {}
        #: per stream (the precincts' summaries, GpUnits and CSV rows, each NIST selection's vote counts), its
        #: text for each run of _BLOCK precincts in plan order: an aggregate joins ~N/_BLOCK pieces
        self._runs: dict[Any, list[bytes]] = {}

    # -- what must be rebuilt --------------------------------------------------------------------------

    def affected(self, changed: Iterable[str]) -> set[str]:
        """The precincts whose documents a change of ``changed`` touches: those and, for a satellite site,
        every released site of its pool (their SDEs follow the pool's turnout)."""
        out = set(changed)
        for code in list(out):
            out.update(site for site in self.pool_sites.get(self.county_of[code], ()) if site in self._released)
        return out

    def needs_full(self, meta: ReleaseMeta) -> bool:
        """Whether a release with ``meta`` must be built from every record (nothing kept, or the facts the
        county and precinct documents carry differ from the last build's)."""
        return self.number is None or meta.zero or self._header != _county_header(meta)

    # -- building --------------------------------------------------------------------------------------

    def build(self, meta: ReleaseMeta, records: Mapping[str, Record], changes: Sequence[Mapping[str, Any]],
              released_in: Mapping[str, int], *, changed: Collection[str] | None = None, bulk: bool = True
              ) -> Built:
        """Release ``meta.number``'s feed files. ``changed=None``: a full build, ``records`` every released
        precinct; otherwise only the precincts in ``changed`` differ from the last build, and ``records``
        holds (at least) the :meth:`affected` ones; ``released_in`` must cover the records given.
        ``bulk=False``: the :data:`BULK_FILES` are not built (the release carries an earlier release's; what
        they are made of is kept all the same)."""
        full = changed is None or self.needs_full(meta)
        if full and changed is not None:
            raise ValueError("this release needs a full build: give every record and changed=None")
        dirty = set(records) if changed is None else self.affected(changed)
        missing = dirty - set(records)
        if missing:
            raise ValueError(f"records missing for {len(missing)} affected precincts, e.g. {sorted(missing)[:3]}")
        sdes = published_sdes(self.plan, {code: records[code] for code in dirty} if not full else records)
        released = {} if full else dict(self._released)
        summary = {} if full else dict(self._summary)
        gp = {} if full else dict(self._gp)
        counties = {} if full else {c: t.copy() for c, t in self._county.items()}
        if full:
            for name in self.plan.counties:
                counties[name] = Totals(self.plan.candidates, total=len(self.members[name]))
            for code in self.codes:
                summary[code] = json_bytes(_summary(self.plan, code, None, None), compact=True)[:-1]
                gp[code] = self._gp_unit(code, None)
        dirty_counties = set(self.plan.counties) if full else {self.county_of[c] for c in dirty}
        files: dict[str, bytes] = {}
        for code in sorted(dirty, key=self.position.__getitem__):
            record = records[code]
            sde = sdes.get(code)
            county = counties[self.county_of[code]]
            before = released.get(code)
            if before is not None:
                first, final, delegates, old_sde = json.loads(before.numbers)
                county.add({"first": first, "final": final, "delegates": delegates},
                           None if old_sde is None else {g: Decimal(v) for g, v in old_sde.items()}, sign=-1)
            county.add(record, sde)
            shown = _summary(self.plan, code, record, sde)
            summary[code] = json_bytes(shown, compact=True)[:-1]
            gp[code] = self._gp_unit(code, record)
            released[code] = _Precinct(
                numbers=json.dumps([record["first"], record["final"], record["delegates"], _sde_text(sde)]),
                summary=summary[code], rows=self._rows(code, record, sde))
            detail = {**record, "sde": _sde_text(sde), "slug": slug(code),
                      "releasedIn": released_in.get(code, meta.number), "test": meta.test, "zero": meta.zero}
            files[f"feed/precinct/{slug(code)}.json"] = json_bytes(detail, compact=True)
        count = (len(self.codes) + _BLOCK - 1) // _BLOCK
        runs = {k: [b""] * count for k in self._streams} if full else {k: list(v) for k, v in self._runs.items()}
        for b in sorted(range(count) if full else {self.position[c] // _BLOCK for c in dirty}):
            content = self._block(b, released, summary, gp)
            for stream, run in runs.items():
                run[b] = content.get(stream, b"")
        county_header = _county_header(meta)
        county_rows = {} if full else dict(self._county_rows)
        county_docs = {} if full else dict(self._county_doc)
        county_prefix = _csv_fields([meta.status, meta.test])
        for name in dirty_counties:
            county_docs[name], county_rows[name] = self._county_summary(meta, name, counties[name])
            members = self.members[name]
            files[f"feed/county/{slug(name)}.json"] = _fill(json_bytes(compact=True, obj={
                **county_header, "county": county_docs[name], "precincts": _placeholder("p")}),
                {"p": b"[" + b",".join(summary[c] for c in members) + b"]"})
            files[f"feed/county/{slug(name)}.csv"] = _csv([(*COUNTY_CSV_HEAD, *_ROW_TAIL)]) + b"".join(
                released[c].rows for c in members if c in released).replace(_MARK, county_prefix)
        state = Totals(self.plan.candidates)
        for name in self.plan.counties:
            state.merge(counties[name])
        files.update(self._aggregates(meta, changes, state=state, counties=counties, county_docs=county_docs,
                                      county_rows=county_rows, runs=runs, bulk=bulk))
        kept = (meta.number, county_header, released, summary, gp, counties, county_rows, county_docs, runs)
        return Built(meta.number, files, full, kept)

    def commit(self, built: Built) -> None:
        """Keep ``built``'s state: the next build is from the changes since it (call once it is released)."""
        (self.number, self._header, self._released, self._summary, self._gp, self._county, self._county_rows,
         self._county_doc, self._runs) = built._state

    # -- parts -----------------------------------------------------------------------------------------

    def _gp_unit(self, code: str, record: Record | None) -> bytes:
        p = self.plan.precinct_by_code(code)
        unit: dict[str, Any] = {"@id": f"gp-precinct-{slug(code)}", "@type": "ElectionResults.ReportingUnit",
                                "Type": "precinct" if p.kind == "precinct" else "other", "Name": _text(p.name),
                                "ExternalIdentifier": [{"@type": "ElectionResults.ExternalIdentifier",
                                                        "Type": "local-level", "Value": p.code}]}
        if p.kind != "precinct":
            unit["OtherType"] = "satellite-caucus"
        if record is not None and record.get("attendance") is not None:
            unit["VotersParticipated"] = int(record["attendance"])
        return json_bytes(unit, compact=True)[:-1]

    def _rows(self, code: str, record: Record, sde: Mapping[str, Decimal] | None) -> bytes:
        name = self.plan.precinct_by_code(code).name
        rows = []
        for g in self.plan.candidates:
            value = sde.get(g) if sde is not None else None
            rows.append((record["county"], code, name, g, record["first"].get(g, 0), record["final"].get(g, 0),
                         record["delegates"].get(g, 0),
                         "" if sde is None else str(value if value is not None else "0.0000")))
        text = _csv(rows)
        if _MARK in text:
            raise ValueError(f"precinct {code}: a NUL character in the plan")
        return b"".join(_MARK + b"," + line + b"\n" for line in text.split(b"\n")[:-1])

    def _block(self, b: int, released: Mapping[str, _Precinct], summary: Mapping[str, bytes],
               gp: Mapping[str, bytes]) -> dict[Any, bytes]:
        """Each stream's text for the precincts at plan positions [b*_BLOCK, (b+1)*_BLOCK)."""
        codes = self.codes[b * _BLOCK:(b + 1) * _BLOCK]
        out: dict[Any, list[str]] = {}
        texts: dict[Any, bytes] = {"summary": b",".join([summary[c] for c in codes]),
                                   "gp": b",".join([gp[c] for c in codes]),
                                   "rows": b"".join([released[c].rows for c in codes if c in released])}
        for code in codes:
            kept = released.get(code)
            if kept is None:
                continue
            first, final, delegates, sde = json.loads(kept.numbers)
            columns = {"first": first, "final": final, "delegates": delegates,
                       "sde": None if sde is None else {g: Decimal(v) for g, v in sde.items()}}
            unit = self._gp_ids[code]
            for key, _, column in CONTESTS:
                values = columns[column]
                if values is None:
                    continue
                for g in self.plan.candidates:
                    if g in values:
                        out.setdefault((key, g), []).append(vote_count(unit, values[g]))
        return {**texts, **{k: ",".join(v).encode() for k, v in out.items()}}

    def _county_summary(self, meta: ReleaseMeta, name: str, totals: Totals) -> tuple[dict[str, Any], bytes]:
        county = self.plan.counties[name]
        summary: dict[str, Any] = {
            "name": county.name, "slug": slug(county.name), "kind": county.kind, "district": county.district,
            "precinctsReporting": _reporting(meta, totals), "precinctsTotal": totals.total,
            "sdeLeader": totals.leader(), "candidates": totals.rows(),
        }
        rows = _csv([(county.name, county.district, summary["precinctsReporting"], totals.total, r["name"],
                      r["firstAlignment"], r["finalAlignment"], r["countyDelegates"], r["sde"])
                     for r in summary["candidates"]])
        return summary, b"".join(_MARK + b"," + line + b"\n" for line in rows.split(b"\n")[:-1])

    def _aggregates(self, meta: ReleaseMeta, changes: Sequence[Mapping[str, Any]], *, state: Totals,
                    counties: Mapping[str, Totals], county_docs: Mapping[str, dict[str, Any]],
                    county_rows: Mapping[str, bytes], runs: Mapping[Any, list[bytes]], bulk: bool
                    ) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        reporting = _reporting(meta, state)
        header = meta.header(reporting, state.total)
        national = national_from_sums(self.plan, {c: t.sde for c, t in counties.items()})
        by_candidate = national["byCandidate"] if national else None
        prefix = _csv_fields([meta.number, meta.status, meta.test, header["lastUpdated"], reporting, state.total])
        head = meta.head_json()
        files["release.json"] = json_bytes({**header, "previous": meta.previous, "plan": self.plan.name,
                                            **({"ledgerHead": head} if head is not None else {})})
        rows = state.rows(by_candidate)
        files["feed/statewide.json"] = json_bytes({**header, "sdeLeader": state.leader(), "candidates": rows,
                                                   "nationalDelegates": national})
        files["feed/statewide.csv"] = _csv([
            (*CSV_HEAD, "candidate", "firstAlignment", "finalAlignment", "countyDelegates", "sde",
             "nationalDelegates"),
            *[(meta.number, meta.status, meta.test, header["lastUpdated"], reporting, state.total, r["name"],
               r["firstAlignment"], r["finalAlignment"], r["countyDelegates"], r["sde"],
               r.get("nationalDelegates", "")) for r in rows],
        ])
        files["feed/counties.json"] = json_bytes({**header, "counties": [county_docs[c] for c in self.plan.counties]},
                                                 compact=True)
        files["feed/counties.csv"] = _csv([(*CSV_HEAD, "county", "district", "countyPrecinctsReporting",
                                            "countyPrecinctsTotal", "candidate", "firstAlignment", "finalAlignment",
                                            "countyDelegates", "sde")]) + b"".join(
            county_rows[c] for c in self.plan.counties).replace(_MARK, prefix)
        files["feed/changes.json"] = json_bytes({
            "feed": header["feed"], "election": meta.election, "release": meta.number, "previous": meta.previous,
            "lastUpdated": header["lastUpdated"], "changes": list(changes)})
        if not bulk:
            return files
        files["feed/precincts.json"] = _fill(json_bytes({**header, "precincts": _placeholder("p")}, compact=True),
                                             {"p": b"[" + b",".join(filter(None, runs["summary"])) + b"]"})
        files["feed/precincts.csv"] = _csv([(*CSV_HEAD, *_ROW_TAIL)]) + b"".join(runs["rows"]).replace(_MARK, prefix)
        parts = {"gp": b",".join(filter(None, runs["gp"]))}
        for key, _, _ in CONTESTS:
            for g in self.plan.candidates:
                parts[f"vc-{key}-{g}"] = b"[" + b",".join(filter(None, runs[(key, g)])) + b"]"
        report = election_report(self.plan, meta, counties={c: 0 if meta.zero else t.reporting
                                                            for c, t in counties.items()},
                                 state=state, reporting=reporting, placeholder=_placeholder)
        files["nist/election-report.json"] = _fill(json_bytes(report, compact=True), parts)
        return files


def _county_header(meta: ReleaseMeta) -> dict[str, Any]:
    header = meta.header(0, 0)
    return {k: header[k] for k in COUNTY_HEADER}


def _summary(plan: Plan, code: str, record: Record | None, sde: Mapping[str, Decimal] | None) -> dict[str, Any]:
    p = plan.precinct_by_code(code)
    summary: dict[str, Any] = {"code": code, "slug": slug(code), "county": p.county, "name": p.name,
                               "kind": p.kind, "reported": record is not None}
    if record is None:
        return summary
    summary.update({
        "delegatesToElect": record.get("delegatesToElect"),
        "attendance": record.get("attendance"),
        "firstAlignment": dict(record["first"]),
        "finalAlignment": dict(record["final"]),
        "countyDelegates": dict(record["delegates"]),
        "sde": _sde_text(sde),
    })
    return summary


def build_documents(plan: Plan, meta: ReleaseMeta, records: Mapping[str, Record],
                    changes: Sequence[Mapping[str, Any]], released_in: Mapping[str, int]) -> dict[str, bytes]:
    """Every file of release ``meta.number`` built from nothing (see the module docstring)."""
    return FeedBuilder(plan).build(meta, records, changes, released_in).files


PLAN_DIR = "plan/"


def plan_documents(plan: Plan) -> dict[str, bytes]:
    """The plan's own files under ``plan/``, byte for byte: with them (hashed in the manifest) anyone can
    recompute the release without any other copy of the plan (``caucus verify-release``)."""
    return {PLAN_DIR + name: data for name, data in plan.files.items()}

"""Verify a published release from its files alone (a directory or a URL): every manifest hash, every
released precinct's delegates and SDEs recomputed from its published alignments with :mod:`caucus.rules`,
and every published total (county, statewide, precincts reporting, national delegate projection).

Used by ``caucus verify-release``. A release directory holds only the files that release changed; the others
are read from the earlier release directories its manifest names (:func:`dir_fetcher`), so every file of
the release is checked wherever its bytes are. It needs nothing but the release: the plan the release was computed with
is published in it (``plan/``, hashed in the manifest) and read from there, for any party's plan. Only a
release made before plans were published (no ``plan/plan.toml``) falls back to a bundled plan of its name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from caucus.plans import Plan, PlanError, list_bundled_plans, load_plan, read_plan_files
from caucus.publish.documents import PLAN_DIR
from caucus.publish.manifest import PART_DIR, part_key
from caucus.publish.model import slug
from caucus.publish.tally import national_projection, published_sdes, totals_of
from caucus.rules import ChanceOutcome, allocate, get_ruleset
from caucus.rules import published_sdes as rule_sdes

Fetch = Callable[[str], bytes]


class Unreadable(Exception):
    """The release cannot be read at all (no such directory or URL, no manifest)."""


@dataclass
class Verification:
    release: int
    manifest_sha256: str
    files: int = 0
    precincts: int = 0
    problems: list[str] = field(default_factory=list)
    #: the ledger head the release publishes (``{"seq", "hash"}``; None for a release made before heads)
    ledger_head: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def dir_fetcher(directory: Path) -> tuple[Fetch, int]:
    """Files of a release directory (or of the latest release of a snapshot directory). A release directory
    under ``releases/`` holds only the files that release changed: each file is read from the release
    directory its manifest entry names (``"release": m``, a sibling); any other directory (a latest tree
    ``live/<n>``, a copy of a whole release) must hold every file itself."""
    root = Path(directory)
    if (root / "latest").exists() or (root / "latest").is_symlink():
        latest = os.readlink(root / "latest") if (root / "latest").is_symlink() else ""
        name = Path(latest).name
        if not name.isdigit() or not (root / "releases" / name / "manifest.json").is_file():
            raise Unreadable(f"{directory}: latest points to {latest!r}, not to a written release")
        root = root / "releases" / name
    if not (root / "manifest.json").is_file():
        raise Unreadable(f"{directory}: no manifest.json (give a release directory or a snapshot directory)")
    manifest = json.loads((root / "manifest.json").read_bytes())
    number = int(manifest["release"])
    sparse = root.parent.name == "releases"
    homes = {str(f["path"]): int(f.get("release", number)) for f in manifest["files"]} if sparse else {}
    if sparse and manifest.get("partDigits"):  # the files of each part, from the directory holding the part
        for path, home in list(homes.items()):
            part = json.loads(((root if home == number else root.parent / str(home)) / path).read_bytes())
            homes.update({str(f["path"]): int(f["release"]) for f in part["files"]})

    def fetch(path: str) -> bytes:
        home = homes.get(path, number)
        return ((root if home == number else root.parent / str(home)) / path).read_bytes()

    return fetch, number


def url_fetcher(base: str, get: Callable[[str], bytes]) -> tuple[Fetch, int]:
    """Files of the latest release published under ``base`` (``http://host``) through ``/feed/v1``."""
    base = base.rstrip("/")
    try:
        latest = json.loads(get(f"{base}/feed/v1/latest.json"))
    except Exception as exc:
        raise Unreadable(f"{base}/feed/v1/latest.json: {exc}") from exc
    number = int(latest["release"])

    def fetch(path: str) -> bytes:
        return get(f"{base}/feed/v1/releases/{number}/{path}")

    return fetch, number


def _check_manifest(fetch: Fetch, result: Verification, expect: str | None) -> dict[str, bytes]:
    raw = fetch("manifest.json")
    result.manifest_sha256 = hashlib.sha256(raw).hexdigest()
    if expect is not None and result.manifest_sha256 != expect:
        result.problems.append(f"manifest.json: sha256 {result.manifest_sha256}, but {expect} was expected "
                               "(--expect-manifest): this is not the release that was recorded; its files "
                               "and manifest were rewritten or replaced")
    manifest = json.loads(raw)
    result.ledger_head = manifest.get("ledgerHead")
    files = _check_files(fetch, manifest["files"], result)
    digits = manifest.get("partDigits")
    if digits is not None:  # a manifest in parts: every file is listed by the part its path belongs to
        for path in sorted(files):
            if not path.startswith(PART_DIR):
                result.problems.append(f"{path}: manifest.json lists it, but a manifest in parts lists only parts")
                continue
            key = path[len(PART_DIR):-len(".json")]
            part = json.loads(files[path])
            if part.get("election") != manifest["election"] or part.get("part") != key:
                result.problems.append(f"{path}: names election {part.get('election')!r} and part "
                                       f"{part.get('part')!r}, not {manifest['election']!r} and {key!r}")
            for item in part["files"]:
                if part_key(str(item["path"]), int(digits)) != key:
                    result.problems.append(f"{item['path']}: listed in {path}, but its path belongs to part "
                                           f"{part_key(str(item['path']), int(digits))}")
            files.update(_check_files(fetch, part["files"], result))
    return files


def _check_files(fetch: Fetch, listed: list[dict[str, Any]], result: Verification) -> dict[str, bytes]:
    """Each listed file read and its sha256 checked against its entry."""
    files: dict[str, bytes] = {}
    for item in listed:
        try:
            data = fetch(item["path"])
        except Exception as exc:
            result.problems.append(f"{item['path']}: listed in the manifest but cannot be read ({exc})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != item["sha256"]:
            result.problems.append(f"{item['path']}: sha256 {digest}, the manifest says {item['sha256']}")
        files[item["path"]] = data
        result.files += 1
    return files


def _recompute(plan: Plan, record: dict[str, Any], result: Verification) -> None:
    """One precinct's delegates (and SDEs, for a precinct with a county ratio) from its alignments."""
    code = record["code"]
    ruleset = get_ruleset(plan.ruleset)
    d = record.get("delegatesToElect")
    if d is None:
        result.problems.append(f"{code}: no delegatesToElect published")
        return
    chance = tuple(ChanceOutcome(c["kind"], tuple(c["among"]), tuple(c["selected"]))
                   for c in record.get("chance") or ())
    try:
        allocation = allocate(int(d), int(record["attendance"]), record["final"], ruleset, chance)
    except ValueError as exc:
        result.problems.append(f"{code}: the published alignments cannot be allocated: {exc}")
        return
    got = {g: n for g, n in allocation.delegates.items() if n}
    published = {g: n for g, n in record["delegates"].items() if n}
    if allocation.status != "complete" or got != published:
        result.problems.append(f"{code}: delegates recompute to {got} ({allocation.status}), published {published}")
        return
    county = plan.counties[record["county"]]
    if county.kind == "county" and record.get("sde") is not None:
        expected = {g: f"{v:.4f}" for g, v in rule_sdes(record["delegates"], county.sde_ratio).items()}
        shown = dict(record["sde"])
        if {g: v for g, v in expected.items() if Decimal(v)} != {g: v for g, v in shown.items() if Decimal(v)}:
            result.problems.append(f"{code}: SDEs recompute to {expected}, published {shown}")


def _compare(what: str, published: Any, expected: Any, result: Verification) -> None:
    if published != expected:
        result.problems.append(f"{what}: published {published}, recomputed {expected}")


def _published_plan(files: dict[str, bytes], name: str, result: Verification) -> Plan | None:
    """The plan published in the release (``plan/``); for an older release without it, the bundled plan of
    its name. None (with a problem) when there is neither, or the published plan does not load."""
    published = {path.removeprefix(PLAN_DIR): data for path, data in files.items() if path.startswith(PLAN_DIR)}
    if not published:
        if name in list_bundled_plans():
            return load_plan(name)
        result.problems.append(f"the release publishes no plan ({PLAN_DIR}plan.toml) and {name!r} is not a "
                               f"bundled plan: its results cannot be recomputed")
        return None
    try:
        plan = read_plan_files(published)
    except PlanError as exc:
        result.problems.append(f"the published plan ({PLAN_DIR}) does not load: {exc}")
        return None
    if plan.name != name:
        result.problems.append(f"release.json names plan {name!r}, the published plan is {plan.name!r}")
    return plan


def verify(fetch: Fetch, number: int, *, expect_manifest: str | None = None) -> Verification:
    """Check release ``number`` read through ``fetch`` (see the module docstring); ``expect_manifest``: the
    sha256 its manifest.json must have."""
    result = Verification(number, "")
    files = _check_manifest(fetch, result, expect_manifest)
    meta = json.loads(files["release.json"])
    plan = _published_plan(files, str(meta["plan"]), result)
    if plan is None:
        return result
    records: dict[str, dict[str, Any]] = {}
    for p in plan.precincts:
        data = files.get(f"feed/precinct/{slug(p.code)}.json")
        if data is not None:
            records[p.code] = json.loads(data)
    result.precincts = len(records)
    if not meta["zero"]:
        for record in records.values():
            _recompute(plan, record, result)
    sdes = published_sdes(plan, records)
    state = totals_of(plan.candidates, [p.code for p in plan.precincts], records, sdes)
    statewide = json.loads(files["feed/statewide.json"])
    reporting = 0 if meta["zero"] else state.reporting
    _compare("statewide precinctsReporting", statewide["precinctsReporting"], reporting, result)
    _compare("statewide precinctsTotal", statewide["precinctsTotal"], len(plan.precincts), result)
    national = national_projection(plan, records, sdes)
    _compare("statewide candidates", statewide["candidates"],
             state.rows(national["byCandidate"] if national else None), result)
    _compare("national delegates", statewide["nationalDelegates"], national, result)
    counties = {c["name"]: c for c in json.loads(files["feed/counties.json"])["counties"]}
    for county in plan.counties.values():
        totals = totals_of(plan.candidates, [p.code for p in plan.precincts_in(county.name)], records, sdes)
        shown = counties.get(county.name)
        if shown is None:
            result.problems.append(f"county {county.name}: missing from counties.json")
            continue
        _compare(f"county {county.name} candidates", shown["candidates"], totals.rows(), result)
        _compare(f"county {county.name} precinctsReporting", shown["precinctsReporting"],
                 0 if meta["zero"] else totals.reporting, result)
    return result

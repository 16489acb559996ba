"""From the rehearsal to the live night, and the recanvass after it.

Going live, as a party does it: a week before, some chairs practise with their
real cards and report numbers that are not the night's (a miscount), the director releases them (the site
says TEST), then the party runs ``caucus election go-live``. The public feed must then have nothing until
the first live release, the same cards must still sign in, and nothing the rehearsal recorded may count or
be published: the night that follows reports the true numbers for the same precincts, and the published
totals must equal the ground truth.

The recanvass (:func:`recanvass`): a campaign contests precincts whose published numbers were miscounted;
HQ corrects them from the paper, moving delegates, and the feed's delta names the request.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from caucus.rehearse.attack import chair_address
from caucus.rehearse.campaign import Campaign
from caucus.rehearse.hq import StaffClient
from caucus.rehearse.moves import miscount
from caucus.rehearse.published import STATEWIDE
from caucus.rehearse.truth import GroundTruth, PrecinctTruth


@dataclass
class GoLive:
    """What the switch to live showed."""

    units: list[str] = field(default_factory=list)
    rehearsal_reports: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    test_release_reporting: int | None = None
    test_release_marked_test: bool | None = None
    command: dict[str, Any] = field(default_factory=dict)
    feed_after_go_live: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok_before_night(self) -> bool:
        return (not self.problems and self.test_release_reporting == len(self.units)
                and self.feed_after_go_live == 404 and set(self.rehearsal_reports) <= {201})

    def as_dict(self) -> dict[str, Any]:
        return {"rehearsal_units": len(self.units), "rehearsal_reports": {str(k): v for k, v in
                                                                          sorted(self.rehearsal_reports.items())},
                "test_release_reporting": self.test_release_reporting,
                "test_release_marked_test": self.test_release_marked_test, "go_live": self.command,
                "feed_after_go_live": self.feed_after_go_live, "problems": self.problems[:20]}


def rehearsal_units(truth: GroundTruth, count: int) -> list[tuple[PrecinctTruth, list[dict[str, Any]]]]:
    """Up to ``count`` units that can practise with a possible miscount (numbers that are not the night's)."""
    plan = truth.load_plan()
    chosen: list[tuple[PrecinctTruth, list[dict[str, Any]]]] = []
    for unit in truth.published:
        if len(chosen) >= count:
            break
        if unit.impossible_delegates:
            continue
        wrong = miscount(plan, unit)
        if wrong is not None:
            final, delegates = wrong.bodies()
            chosen.append((unit, [unit.bodies()[0], unit.bodies()[1], final, delegates]))
    return chosen


async def _practise(http: httpx.AsyncClient, unit: PrecinctTruth, credential: str, bodies: Sequence[dict[str, Any]],
                    *, address: str, seen: GoLive) -> None:
    headers = {"X-Forwarded-For": address}
    signed = await http.post("/api/v1/session", headers=headers, json={"precinct": unit.code,
                                                                         "credential": credential})
    if signed.status_code != 201:
        seen.problems.append(f"{unit.code}: rehearsal sign-in {signed.status_code}")
        return
    auth = {**headers, "Authorization": f"Bearer {signed.json()['token']}"}
    for body in bodies:
        response = await http.post("/api/v1/reports", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())})
        seen.rehearsal_reports[response.status_code] = seen.rehearsal_reports.get(response.status_code, 0) + 1


async def _feed_status(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await http.get(STATEWIDE)
    return response.status_code, (response.json() if response.status_code == 200 else {})


async def rehearse_then_go_live(front: str, truth: GroundTruth, credentials: dict[str, str], director: StaffClient,
                                *, units: int, database_url: str, slug: str, snapshots: Path,
                                timeout: float = 120.0) -> GoLive:
    """The rehearsal a week before (``units`` chairs, a test release), then ``caucus election go-live``."""
    seen = GoLive()
    chosen = rehearsal_units(truth, units)
    seen.units = [unit.code for unit, _ in chosen]
    async with httpx.AsyncClient(base_url=front, timeout=30) as http:
        await asyncio.gather(*(_practise(http, unit, credentials[unit.code], bodies,
                                         address=chair_address(10**6 + i), seen=seen)
                               for i, (unit, bodies) in enumerate(chosen)))
        await director.refresh_csrf("/hq/releases")
        made = await director.post("/hq/releases/release", {"note": "rehearsal release (practice numbers)"},
                                   timeout=director.RELEASE_WAIT)
        if made.status_code != 303:
            seen.problems.append(f"the director's rehearsal release was refused ({made.status_code})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, doc = await _feed_status(http)
            if status == 200 and int(doc.get("precinctsReporting", 0)) >= len(chosen):
                seen.test_release_reporting = int(doc["precinctsReporting"])
                seen.test_release_marked_test = bool(doc.get("test"))
                break
            await asyncio.sleep(0.2)
        else:
            seen.problems.append("the rehearsal release never showed on the public feed")
        command = [sys.executable, "-c", "from caucus.cli import main; main()", "election", "go-live", slug, "--yes",
                   "--json", "--database", database_url, "--snapshots", str(snapshots)]
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            seen.problems.append(f"caucus election go-live exited {done.returncode}: {done.stderr[-500:]}")
        else:
            seen.command = json.loads(done.stdout)
        seen.feed_after_go_live, _ = await _feed_status(http)
    return seen


async def recanvass(front: str, reviewer: StaffClient, units: dict[str, PrecinctTruth], *, since_release: int | None,
                    totals_match: Callable[[], Awaitable[bool]], timeout: float = 120.0,
                    database_url: str | None = None) -> dict[str, Any]:
    """A campaign asks for a recanvass of precincts whose published numbers were miscounted; the reviewer
    corrects each precinct's final alignment and delegates from the paper (one correction that moves a
    delegate); the next release publishes the difference with the request's name.

    With ``database_url`` (where the admin makes the campaign's account) the campaign does it itself
    (:mod:`caucus.rehearse.campaign`): uploads its captains' tallies, files the request from its cross-check
    and follows it to the published difference; the reviewer confirms the precinct where the campaign's
    captain slipped. Without it, the reviewer files the request on the campaign's behalf."""
    seen: dict[str, Any] = {"units": sorted(units), "since_release": since_release, "corrections": {}}
    campaign = Campaign(front, reviewer.tally, database_url) if database_url is not None else None
    try:
        if campaign is not None:
            label = await campaign.cross_check_and_file(units)
        else:
            label = await reviewer.file_recanvass("Campaign of the candidate who lost a delegate", sorted(units),
                                                  "our precinct captains counted the final alignment differently")
        seen["request"] = label
        if label is not None:
            await _decide(front, reviewer, units, label, seen, totals_match=totals_match,
                          since_release=since_release, timeout=timeout,
                          slip=campaign.play.slip if campaign is not None else None)
            if campaign is not None:
                await campaign.follow(label)
    finally:
        if campaign is not None:
            await campaign.close()
            seen["campaign"] = {**campaign.play.as_dict(), "ok": campaign.play.verdict(set(units))}
    return seen


async def _decide(front: str, reviewer: StaffClient, units: dict[str, PrecinctTruth], label: str,
                  seen: dict[str, Any], *, totals_match: Callable[[], Awaitable[bool]], since_release: int | None,
                  timeout: float, slip: str | None) -> None:
    """HQ corrects each miscounted precinct from the paper (and confirms ``slip``), then the releases."""
    for code, unit in sorted(units.items()):
        seen["corrections"][code] = await reviewer.recanvass(
            label, code, {"final": dict(unit.final), "delegates": dict(unit.delegates)},
            note=f"{label}: preference groups recounted from the cards; people had been written in the wrong group")
    if slip is not None:
        await reviewer.refresh_csrf(f"/hq/recanvass/{label}")
        confirmed = await reviewer.post(f"/hq/recanvass/{label}/unchanged", {
            "precinct": slip, "note": "the worksheet matches the release; the campaign's captain miscounted"})
        seen["confirmed"] = {slip: confirmed.status_code}
    deadline = time.monotonic() + timeout
    seen["published_totals_equal_truth"] = False
    while time.monotonic() < deadline:
        if await totals_match():
            seen["published_totals_equal_truth"] = True
            break
        await asyncio.sleep(0.3)
    if since_release is not None:
        async with httpx.AsyncClient(base_url=front, timeout=30) as http:
            response = await http.get(f"/feed/v1/delta/{since_release}.json")
            changes = response.json().get("changes", []) if response.status_code == 200 else []
        named = {c["code"] for c in changes
                 if c.get("kind") == "changed" and any(label in str(r) for r in c.get("reasons") or ())
                 and c.get("before", {}).get("delegates") != c.get("after", {}).get("delegates")}
        seen["published_difference"] = sorted(named)

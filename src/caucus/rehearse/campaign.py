"""A campaign in the rehearsal (issue 13, docs/campaigns.md), through the pages its staff use.

After the night, the campaign of the candidate who lost a delegate in a miscounted precinct holds the party's
released numbers against its precinct captains': the admin makes its account (``caucus staff add --role
campaign``); it uploads a file with a mistake (refused, the line named), then its captains' file: the true
numbers of the miscounted precincts, the released numbers of a few others (one with a captain's slip) and a
precinct the party has not released. Its cross-check must list exactly the precincts whose numbers differ
from the public feed's (worked out here from ``/feed/v1/precincts.json``), show the unreleased one by its
state only, and it files the recanvass from that list (HQ's ``R-<n>``). After HQ has decided every precinct
and released, its requests page must say "decided", each miscount corrected with its published difference
and the slip standing.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import html
import io
import re
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from caucus.rehearse.hq import StaffAccount, StaffClient
from caucus.rehearse.night import Tally
from caucus.rehearse.published import current_precincts
from caucus.rehearse.truth import PrecinctTruth

USERNAME = "campaign"
#: agreeing precincts the captains also recorded (the first of them with a captain's slip)
AGREEING = 4
_NEXT = re.compile(r'<a href="(/hq/campaign\?page=\d+)" rel="next">')
_ROW = re.compile(r'<tr data-precinct="([^"]+)" data-state="([^"]+)"( class="differs")?>(.*?)</tr>', re.S)
_FILED = re.compile(r"filed (R-\d+)")
_PROBLEM = re.compile(r"<li>([^<]*? line (\d+): [^<]*)</li>")
Numbers = dict[str, dict[str, int]]  # "first" | "final" -> group -> people


@dataclass
class CampaignPlay:
    """What the campaign did and saw (the report's ``recanvass.campaign``)."""

    group: str = ""
    uploaded: list[str] = field(default_factory=list)
    unreleased: str | None = None
    slip: str | None = None
    bad_line_named: bool = False
    expected_differing: list[str] = field(default_factory=list)
    crosscheck_differing: list[str] = field(default_factory=list)
    unreleased_shown_as: str = ""
    request: str | None = None
    status: str = ""
    outcomes: dict[str, str] = field(default_factory=dict)
    published_difference: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def verdict(self, miscounted: set[str]) -> bool:
        """The campaign's part held: the bad line named, the cross-check's list exactly the feed's
        differences (every miscount among them), the unreleased precinct (if the night left one) by its state
        only, the request
        decided with each miscount corrected and published, the slip standing."""
        wanted = dict.fromkeys(miscounted, "changed") | ({self.slip: "unchanged"} if self.slip else {})
        return (not self.problems and self.bad_line_named and self.request is not None
                and sorted(self.crosscheck_differing) == sorted(self.expected_differing)
                and miscounted <= set(self.expected_differing)
                and (self.unreleased is None or self.unreleased_shown_as not in ("", "released"))
                and self.status == "decided"
                and self.outcomes == wanted and miscounted <= set(self.published_difference))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _csv(rows: Mapping[tuple[str, str], Numbers]) -> bytes:
    """The party's public long layout (``county,precinct,candidate,measure,value``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["county", "precinct", "candidate", "measure", "value"])
    writer.writerows([county, name, g, measure, n] for (county, name), numbers in rows.items()
                     for key, measure in (("first", "expression_1"), ("final", "expression_2"))
                     for g, n in sorted(numbers[key].items()))
    return buffer.getvalue().encode()


def _feed_numbers(precinct: Mapping[str, Any]) -> Numbers:
    return {"first": {g: int(n) for g, n in (precinct.get("firstAlignment") or {}).items()},
            "final": {g: int(n) for g, n in (precinct.get("finalAlignment") or {}).items()}}


def _differs(mine: Numbers, published: Numbers) -> bool:
    """As the cross-check compares: the groups the campaign gave, a group missing from the release being 0."""
    return any(n != published[m].get(g, 0) for m in ("first", "final") for g, n in mine[m].items())


class Campaign:
    """The campaign's staff member, signed in at HQ with a ``campaign`` account."""

    def __init__(self, front: str, tally: Tally, database_url: str) -> None:
        self.front, self.tally, self.database_url = front, tally, database_url
        self.play = CampaignPlay()
        self.client: StaffClient | None = None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def _account(self, group: str) -> StaffAccount:
        """The party's admin creates the account on the server, as docs/campaigns.md says."""
        account = StaffAccount(USERNAME, "campaign", secrets.token_urlsafe(12))
        command = [sys.executable, "-c", "from caucus.cli import main; main()", "staff", "add", USERNAME,
                   "--role", "campaign", "--campaign", group, "--name", f"{group} campaign", "--password-file", "-",
                   "--database", self.database_url]
        done = await asyncio.to_thread(subprocess.run, command, input=account.password + "\n", capture_output=True,
                                       text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"caucus staff add --role campaign exited {done.returncode}: {done.stderr[-300:]}")
        return account

    async def cross_check_and_file(self, miscounted: Mapping[str, PrecinctTruth]) -> str | None:
        """Upload the captains' numbers, read the cross-check, file the recanvass from it; its label."""
        play = self.play
        async with httpx.AsyncClient(base_url=self.front, timeout=30) as http:
            feed = {p["code"]: p for p in await current_precincts(http)}
        released = {c: _feed_numbers(p) for c, p in feed.items() if p.get("reported")}
        missing = sorted(set(miscounted) - set(released))
        if missing:
            play.problems.append(f"miscounted precincts not released before the recanvass: {missing[:5]}")
            return None
        first = miscounted[min(miscounted)]
        published_delegates = feed[first.code].get("countyDelegates") or {}
        lost = [g for g, n in sorted(first.delegates.items()) if n > int(published_delegates.get(g, 0))]
        play.group = lost[0] if lost else sorted(first.final)[0]
        self.client = StaffClient(self.front, await self._account(play.group), self.tally)
        await self.client.sign_in()

        captains: dict[str, Numbers] = {c: {"first": dict(u.first), "final": dict(u.final)}
                                        for c, u in miscounted.items()}
        others = [c for c in sorted(released) if c not in miscounted][:AGREEING]
        for code in others:
            captains[code] = {m: dict(n) for m, n in released[code].items()}
        if others:  # a captain's slip: one person too many for the campaign's own group
            play.slip = others[0]
            final = captains[play.slip]["final"]
            final[play.group] = final.get(play.group, 0) + 1
        unreleased = next((c for c in sorted(feed) if c not in released), None)
        if unreleased is not None and others:
            play.unreleased = unreleased
            captains[unreleased] = {m: dict(n) for m, n in released[others[-1]].items()}
        play.uploaded = sorted(captains)
        play.expected_differing = sorted(c for c, n in captains.items() if c in released and _differs(n, released[c]))
        rows = {(feed[c]["county"], feed[c]["name"]): n for c, n in captains.items()}
        await self._upload(rows)
        page = await self.client.refresh_csrf("/hq/campaign")
        pages = [page]
        while (following := _NEXT.search(pages[-1])) is not None:  # 100 rows a page: every page
            pages.append(await self.client.refresh_csrf(html.unescape(following.group(1))))
        seen = {html.unescape(m.group(1)): m for text in pages for m in _ROW.finditer(text)}
        play.crosscheck_differing = sorted(c for c, m in seen.items() if m.group(3))
        if unreleased is not None:
            shown = seen.get(unreleased)
            party_cell = re.search(r'<td class="party">(.*?)</td>', shown.group(4), re.S) if shown else None
            play.unreleased_shown_as = shown.group(2) if shown and party_cell and \
                party_cell.group(1).strip() == "not released" and 'name="precinct"' not in shown.group(4) else ""
        filed = await self.client.post("/hq/campaign/recanvass", {
            "precinct": play.crosscheck_differing,
            "reason": "our precinct captains' worksheets differ from the released numbers"})
        found = _FILED.search(unquote(filed.headers.get("location", "")))
        play.request = found.group(1) if filed.status_code == 303 and found is not None else None
        if play.request is None:
            play.problems.append(f"the recanvass request was refused ({filed.status_code})")
        return play.request

    async def _upload(self, rows: Mapping[tuple[str, str], Numbers]) -> None:
        assert self.client is not None
        play = self.play
        good = _csv(rows)
        lines = good.decode().splitlines(keepends=True)
        # the first try: the second row's number typed as a word
        bad = "".join([*lines[:2], lines[2].rstrip("\n").rsplit(",", 1)[0] + ",twelve\n", *lines[3:]]).encode()
        for name, data in (("captains-draft.csv", bad), ("captains.csv", good)):
            await self.client.refresh_csrf("/hq/campaign")
            response = await self.client.http.post(
                "/hq/campaign/upload", data={"csrf_token": self.client.csrf},
                files={"file": (name, data, "text/csv")})
            if name == "captains-draft.csv":
                named = [int(m.group(2)) for m in _PROBLEM.finditer(response.text)]
                play.bad_line_named = response.status_code == 422 and named == [3]
            elif response.status_code != 303:
                play.problems.append(f"the captains' file was refused ({response.status_code}): "
                                     f"{[m.group(1) for m in _PROBLEM.finditer(response.text)][:3]}")

    async def follow(self, label: str) -> None:
        """The campaign's requests page once HQ has decided and released."""
        assert self.client is not None
        page = await self.client.refresh_csrf("/hq/campaign/requests")
        section = re.search(rf'<section class="request" data-request="{re.escape(label)}" data-status="([^"]+)">'
                            r"(.*?)</section>", page, re.S)
        if section is None:
            self.play.problems.append(f"{label} is not on the campaign's requests page")
            return
        self.play.status = section.group(1)
        for code, outcome, cells in re.findall(r'<tr data-precinct="([^"]+)" data-outcome="([^"]+)">(.*?)</tr>',
                                               section.group(2), re.S):
            self.play.outcomes[html.unescape(code)] = outcome
            if "<span data-measure=" in cells:
                self.play.published_difference.append(html.unescape(code))

"""Headquarters staff in a rehearsal, using the HQ pages as a person's browser does: sign in (with the
login form's token), read the CSRF token from a page, post the forms, follow the 303s.

- :class:`StaffClient`: one staff member's session (own cookie jar).
- :class:`Desk`: a precinct that reports by phone: operator A verifies the caller (precinct code and
  hotline code) and keys in each stage; operator B takes the call-back and keys the same numbers in
  independently (four eyes), so the hotline report counts.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from caucus.rehearse.night import Sent, Tally
from caucus.rehearse.truth import PrecinctTruth

_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CALL = re.compile(r"/hq/hotline/calls/(\d+)")
_RECORDED = re.compile(r"recorded=(\d+)")
_LAST_SEQ = re.compile(r'name="last_seq" value="(\d+)"')
_LABEL = re.compile(r"/hq/recanvass/(R-\d+)")
_INPUT = re.compile(r"<input\b([^>]*)>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def _form_of(page: str, code: str) -> dict[str, str] | None:
    """The fields of the correction form for precinct ``code`` on a recanvass page (names to values)."""
    marker = f'data-precinct="{html.escape(code)}"'
    start = page.find(marker)
    if start < 0:
        return None
    end = page.find("</form>", start)
    fields: dict[str, str] = {}
    for found in _INPUT.finditer(page, start, end):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(found.group(1))}
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields

STAFF_ROLES = ("operator", "operator", "reviewer", "director", "observer")


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    password: str


def staff_accounts(prefix: str = "") -> list[StaffAccount]:
    """The rehearsal's staff: two hotline operators, a reviewer, the results director and an observer, each
    with a new random password."""
    names = ("operator1", "operator2", "reviewer", "director", "observer")
    return [StaffAccount(f"{prefix}{n}", role, secrets.token_urlsafe(12)) for n, role in zip(names, STAFF_ROLES,
                                                                                           strict=True)]


class StaffClient:
    def __init__(self, base_url: str, account: StaffAccount, tally: Tally) -> None:
        self.account, self.tally = account, tally
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False)
        self.csrf = ""

    async def close(self) -> None:
        await self.http.aclose()

    async def _retrying(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        delay = 0.05
        deadline = time.monotonic() + 1800
        while True:
            try:
                response = await self.http.request(method, path, **kwargs)
                if response.status_code not in (502, 503, 504) or time.monotonic() > deadline:
                    return response
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            self.tally.error(f"hq: {self.account.role} retry")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def sign_in(self) -> None:
        form = await self._retrying("GET", "/hq/sign-in")
        token = _LOGIN.search(form.text)
        if token is None:
            raise RuntimeError(f"no sign-in form at /hq/sign-in ({form.status_code})")
        done = await self._retrying("POST", "/hq/sign-in", data={
            "username": self.account.username, "password": self.account.password, "login_token": token.group(1),
            "next": "/hq"})
        if done.status_code != 303:
            raise RuntimeError(f"{self.account.username} could not sign in ({done.status_code})")
        await self.refresh_csrf()

    async def try_sign_in(self) -> int:
        """Sign in (own address); the HTTP status of the sign-in (303: in), and the client closed."""
        try:
            form = await self._retrying("GET", "/hq/sign-in")
            token = _LOGIN.search(form.text)
            if token is None:
                return form.status_code
            done = await self._retrying("POST", "/hq/sign-in", data={
                "username": self.account.username, "password": self.account.password,
                "login_token": token.group(1), "next": "/hq"})
            return done.status_code
        finally:
            await self.close()

    async def refresh_csrf(self, path: str = "/hq") -> str:
        page = await self._retrying("GET", path)
        found = _CSRF.search(page.text)
        if found is None:
            raise RuntimeError(f"no CSRF token on {path} ({page.status_code})")
        self.csrf = found.group(1)
        return page.text

    async def post(self, path: str, data: dict[str, Any], *, timeout: float = 30.0) -> httpx.Response:
        response = await self._retrying("POST", path, data={**data, "csrf_token": self.csrf}, timeout=timeout)
        if response.status_code == 401:  # the session ended (a server restart does not end it; expiry does)
            await self.sign_in()
            response = await self._retrying("POST", path, data={**data, "csrf_token": self.csrf}, timeout=timeout)
        return response

    # -- hotline -------------------------------------------------------------------------------------------
    async def take_call(self, precinct: str, hotline_code: str) -> int:
        response = await self.post("/hq/hotline/calls", {"precinct": precinct, "hotline_code": hotline_code,
                                                         "note": "rehearsal call"})
        found = _CALL.search(response.headers.get("location", ""))
        self.tally.signed_in(precinct, response.status_code if found is not None else 422)
        if response.status_code != 303 or found is None:
            raise RuntimeError(f"hotline call for {precinct} not verified ({response.status_code})")
        return int(found.group(1))

    async def key_in(self, call_id: int, precinct: str, body: dict[str, Any]) -> Sent:
        sent = Sent(str(uuid.uuid4()), precinct, body["stage"], "report", time.monotonic(), channel="hotline")
        self.tally.sent.append(sent)
        data = {"stage": body["stage"], "key": sent.key}
        if body["stage"] == "attendance":
            data["attendance"] = str(body["attendance"])
        else:
            numbers = body.get("counts") or body.get("delegates") or {}
            data.update({f"n.{g}": str(n) for g, n in numbers.items()})
        # a game of chance as the console takes it: who was chosen, with the kind and the tied groups
        form: dict[str, Any] = dict(data)
        for i, game in enumerate(body.get("chance") or ()):
            form.update({f"chance.{i}.kind": game["kind"], f"chance.{i}.among": list(game["among"]),
                         f"chance.{i}.selected": list(game["selected"])})
        started = time.perf_counter()
        sent.attempts += 1
        response = await self.post(f"/hq/hotline/calls/{call_id}/stages", form)
        sent.status = response.status_code
        recorded = _RECORDED.search(response.headers.get("location", ""))
        if response.status_code == 303 and recorded is not None:
            self.tally.ack(sent, time.perf_counter() - started, int(recorded.group(1)))
        else:
            sent.refused = f"hotline {response.status_code}"
        return sent

    # -- release control -------------------------------------------------------------------------------------
    #: a release the director asks for is built while the page waits: a whole national state's first one takes
    #: minutes, and a retry after a timeout would ask for another release
    RELEASE_WAIT = 1800.0

    async def release_zero(self) -> bool:
        """The zero-count rehearsal release, for media to test their feeds before the night."""
        await self.refresh_csrf("/hq/releases")
        response = await self.post("/hq/releases/release", {"zero": "yes", "note": "zero-count rehearsal"},
                                   timeout=self.RELEASE_WAIT)
        return response.status_code == 303

    async def switch_continuous(self, on: bool) -> bool:
        await self.refresh_csrf("/hq/releases")
        response = await self.post("/hq/releases/continuous", {"on": "yes" if on else "no"}, timeout=self.RELEASE_WAIT)
        return response.status_code == 303

    # -- recanvass ---------------------------------------------------------------------------------------------
    async def file_recanvass(self, campaign: str, codes: list[str], reason: str) -> str | None:
        """A reviewer files a campaign's recanvass request; its label (``R-<n>``), or None if refused."""
        await self.refresh_csrf("/hq/recanvass")
        response = await self.post("/hq/recanvass", {"campaign": campaign, "kind": "recanvass",
                                                      "precincts": "\n".join(codes), "reason": reason})
        found = _LABEL.search(response.headers.get("location", ""))
        return found.group(1) if response.status_code == 303 and found is not None else None

    async def recanvass(self, label: str, code: str, numbers: dict[str, dict[str, int]], note: str) -> int:
        """Correct a precinct of a recanvass from the paper: the form as the page draws it (the precinct's
        current numbers), with the stages in ``numbers`` (stage -> group -> count) changed as a reviewer types
        them. Returns the HTTP status (303: recorded)."""
        page = await self.refresh_csrf(f"/hq/recanvass/{label}")
        form = _form_of(page, code)
        if form is None:
            return 404
        for stage, groups in numbers.items():
            for name in [k for k in form if k.startswith(f"{stage}.")]:
                group = name.split(".", 1)[1]
                typed = form[name].strip()
                if (int(typed) if typed.isdigit() else 0) != groups.get(group, 0):
                    form[name] = str(groups.get(group, 0))
        form.update({"note": note, "action": "record"})
        form.pop("csrf_token", None)
        response = await self.post(f"/hq/recanvass/{label}/correct", form)
        return response.status_code

    # -- review --------------------------------------------------------------------------------------------
    async def message_chair(self, precinct: str, text: str, kind: str = "call-hq") -> bool:
        await self.refresh_csrf(f"/hq/review/p/{precinct}")
        response = await self.post("/hq/review/message", {"precinct": precinct, "text": text, "kind": kind})
        return response.status_code == 303


class Desk:
    """The hotline desk: two operators; each phoned stage is keyed in by both (four eyes)."""

    def __init__(self, first: StaffClient, second: StaffClient, lines: int = 8) -> None:
        self.operators = (first, second)
        self.lines = asyncio.Semaphore(lines)  # calls answered at once; the other callers wait on hold
        self.in_call = 0  # calls being taken now (the live view's hotline queue)
        self.on_hold = 0
        self.calls = 0

    async def report(self, truth: PrecinctTruth, hotline_code: str, times: tuple[float, ...], start: float) -> None:
        """The chair phones in each stage, reading the card's hotline code to verify the call."""
        calls: dict[int, int] = {}
        for body, at in zip(truth.totals_bodies(), times, strict=True):
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            self.on_hold += 1
            async with self.lines:
                self.on_hold -= 1
                await self._stage(truth, hotline_code, body, calls)

    async def _stage(self, truth: PrecinctTruth, hotline_code: str, body: dict[str, Any], calls: dict[int, int]
                     ) -> None:
        self.in_call += 1
        try:
            for i, operator in enumerate(self.operators):
                if i not in calls:
                    calls[i] = await operator.take_call(truth.code, hotline_code)
                    self.calls += 1
                await operator.key_in(calls[i], truth.code, body)
        finally:
            self.in_call -= 1

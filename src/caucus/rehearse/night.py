"""A caucus night played against a running server, only through its HTTP API, as real clients do.

Every unit of the ground truth gets a chair who signs in and reports attendance, first alignment, final
alignment and delegates at its own times on a compressed timeline of the night (doors close, first
alignment, realignment, final). Some chairs misbehave as real ones do: re-send a report already
acknowledged, lose the connection mid-request and retry, tap twice, type a wrong attendance and correct it,
type the party's impossible delegates and are refused, insist on numbers the rules flag (``confirm``),
upload a worksheet photo. Every send of one report carries the same idempotency key until acknowledged.

Faults (:class:`Faults`) run beside the chairs: SIGKILL of the server process and restart, a PostgreSQL
restart, slow responses through a delaying proxy. What each client saw is kept in :class:`Tally`, which
the live view and the final report read.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from PIL import Image, ImageDraw

from caucus.rehearse.attack import chair_address
from caucus.rehearse.browser import report_in_app, usable_in_app
from caucus.rehearse.client import JSON, Answer, Client, encode
from caucus.rehearse.moves import Miscount, miscount
from caucus.rehearse.truth import GroundTruth, PrecinctTruth

STAGES = ("attendance", "first", "final", "delegates")


@dataclass(frozen=True)
class Behaviour:
    """Shares of chairs (0-1) that do each thing."""

    resend: float = 0.05  # re-send a report after its acknowledgment (same key): a replay
    flaky: float = 0.05  # the connection drops during the first send; retried with the same key
    double_tap: float = 0.03  # two sends of one report at once (same key)
    typo: float = 0.03  # a wrong attendance, acknowledged, then corrected with a reason
    photo: float = 0.15  # upload a photo of the signed worksheet
    hotline: float = 0.0  # report by calling the hotline instead of the app (needs the HQ console)
    both: float = 0.0  # report on the app AND by calling the hotline, with the same numbers
    move: float = 0.0  # miscount the final alignment (other delegates), then correct final and delegates at once
    recanvass: int = 0  # units whose miscount stands until a campaign's recanvass corrects it at HQ
    phone_ties: int = 0  # units with a game of chance that phone it in (besides the ``hotline`` share)


@dataclass
class Sent:
    """One report (one idempotency key) as its sender saw it."""

    key: str
    precinct: str
    stage: str
    kind: str  # report | correction | photo
    started: float
    attempts: int = 0
    acked_at: float | None = None
    latency: float | None = None  # of the acknowledged attempt
    seq: int | None = None
    status: int | None = None
    refused: str | None = None
    replays: int = 0  # deliberate re-sends answered as replays
    channel: str = "app"
    seqs: tuple[int, ...] = ()  # the entries of a correction of several stages


@dataclass
class Tally:
    """Everything the clients saw, as it happens (read by the live view and the report)."""

    started: float = field(default_factory=time.monotonic)
    sent: list[Sent] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    chairs_done: int = 0
    chairs_total: int = 0
    samples: list[dict[str, float]] = field(default_factory=list)
    #: kept as acknowledgments arrive (the live view and the sampler read them often; never recount)
    acked_count: int = 0
    complete: int = 0
    _stages: dict[str, set[str]] = field(default_factory=dict)
    #: what chairs signing in with their right credential were answered, by HTTP status (all must be 201)
    signins: dict[int, int] = field(default_factory=dict)
    #: units whose chair miscounted and corrected final alignment and delegates at once: the answer's status
    moved: dict[str, int] = field(default_factory=dict)
    #: units with a game of chance that phoned it in
    phoned_ties: set[str] = field(default_factory=set)
    #: units whose miscount is published, then corrected by a recanvass at HQ
    recanvass_units: dict[str, PrecinctTruth] = field(default_factory=dict)
    #: units that report on the app and by phone with the same numbers
    both_channels: set[str] = field(default_factory=set)
    #: units whose chair sign-in or hotline verification with the right credential was refused or throttled
    refused_right_credential: set[str] = field(default_factory=set)
    #: requests that got no answer within the client's timeout (a chair's deliberate signal drop not counted)
    timeouts: int = 0

    def ack(self, sent: Sent, latency: float, seq: int | None = None) -> None:
        """Record that ``sent`` was acknowledged after ``latency`` seconds (receipt ``seq``)."""
        sent.acked_at, sent.latency = time.monotonic(), latency
        if seq is not None:
            sent.seq = seq
        self.acked_count += 1
        if sent.kind == "report":
            stages = self._stages.setdefault(sent.precinct, set())
            if sent.stage not in stages:
                stages.add(sent.stage)
                self.complete += len(stages) == len(STAGES)

    def signed_in(self, unit: str, status: int) -> None:
        """A sign-in (or a hotline verification) with the right credential was answered ``status``."""
        self.signins[status] = self.signins.get(status, 0) + 1
        if status not in (200, 201, 303) and status < 500:
            self.refused_right_credential.add(unit)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def event(self, what: str) -> None:
        self.events.append((time.monotonic() - self.started, what))

    def latencies(self) -> list[float]:
        return sorted(s.latency for s in self.sent if s.latency is not None)

    def precincts_fully_acknowledged(self) -> int:
        return self.complete


@dataclass(frozen=True)
class Timeline:
    """The night compressed into ``duration`` seconds: doors close at 0; first alignments are reported
    between 15% and 45% of the night, finals 10-35% later, delegates right after."""

    duration: float = 60.0

    def times(self, rng: random.Random) -> tuple[float, float, float, float]:
        first = self.duration * rng.uniform(0.15, 0.45)
        attendance = first * rng.uniform(0.3, 0.9)
        final = min(self.duration * 0.95, first + self.duration * rng.uniform(0.10, 0.35))
        delegates = min(self.duration, final + self.duration * rng.uniform(0.0, 0.05))
        return attendance, first, final, delegates


def worksheet_photo(precinct: str, seed: int) -> bytes:
    """A small JPEG standing in for a photo of a signed worksheet."""
    image = Image.new("RGB", (480, 640), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), f"Worksheet {precinct}", fill=(0, 0, 0))
    for i in range(12):
        draw.line((20, 60 + i * 40, 460, 60 + i * 40), fill=(120, 120, 120))
    draw.text((20, 600), f"signed #{seed}", fill=(0, 0, 90))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


class Chair:
    """One precinct chair with a phone."""

    def __init__(self, client: Client, truth: PrecinctTruth, credential: str, *, rng: random.Random,
                 behaviour: Behaviour, timeline: Timeline, tally: Tally, address: str = "") -> None:
        self.client, self.truth, self.credential, self.rng = client, truth, credential, rng
        self.behaviour, self.timeline, self.tally = behaviour, timeline, tally
        self.auth: dict[str, str] = {}
        #: the phone's own address, as the trusted proxy reports it
        self.address = {"X-Forwarded-For": address} if address else {}
        #: a miscounted final alignment the chair reports, then corrects with the delegates (None: no mistake)
        self.miscount: Miscount | None = None
        self._wrong: dict[str, int] = {}  # stage -> seq of the miscounted entry
        #: the miscount stands (published) until the recanvass at HQ corrects it
        self.recanvassed = False

    async def sign_in(self) -> dict[str, str]:
        body = encode({"precinct": self.truth.code, "credential": self.credential})
        response = await self.client.request("POST", "/api/v1/session", sent=None, data=body,
                                             headers={**self.address, **JSON},
                                             on_answer=lambda status: self.tally.signed_in(self.truth.code, status))
        if response is None or response.status_code != 201:
            self.tally.error("sign-in refused")
            raise RuntimeError(f"{self.truth.code}: sign-in failed: {response and response.text[:200]}")
        self.auth = {"Authorization": f"Bearer {response.json()['token']}"}
        return self.auth

    def _chance(self, share: float) -> bool:
        return self.rng.random() < share

    async def send(self, body: dict[str, Any], *, kind: str = "report", key: str | None = None,
                   flaky: bool = False) -> tuple[Sent, Answer | None]:
        sent = Sent(key or str(uuid.uuid4()), self.truth.code, str(body["stage"]), kind, time.monotonic())
        self.tally.sent.append(sent)
        response = await self.client.request("POST", "/api/v1/reports", sent=sent, data=encode(body), flaky=flaky,
                                             headers={**self.auth, **JSON, "Idempotency-Key": sent.key},
                                             reauth=self.sign_in)
        if response is not None and response.is_success:
            sent.seq = int(response.json()["receipt"]["seq"])
        return sent, response

    async def correct_together(self, bodies: Sequence[dict[str, Any]], reason: str) -> Sent:
        """One correction of several stages (each superseding this chair's current entry of it)."""
        stages = [{**body, "supersedes_seq": self._wrong[str(body["stage"])]} for body in bodies]
        sent = Sent(str(uuid.uuid4()), self.truth.code, "+".join(str(b["stage"]) for b in bodies), "corrections",
                    time.monotonic())
        self.tally.sent.append(sent)
        response = await self.client.request("POST", "/api/v1/corrections", sent=sent,
                                             data=encode({"reason": reason, "stages": stages}),
                                             headers={**self.auth, **JSON, "Idempotency-Key": sent.key},
                                             reauth=self.sign_in)
        if response is not None and response.is_success:
            sent.seqs = tuple(int(r["seq"]) for r in response.json()["receipts"])
        self.tally.moved[self.truth.code] = response.status_code if response is not None else 0
        return sent

    async def report(self, body: dict[str, Any]) -> None:
        b = self.behaviour
        stage = body["stage"]
        if self.miscount is not None and stage in ("final", "delegates"):
            wrong_final, wrong_delegates = self.miscount.bodies()
            wrong, _ = await self.send(wrong_final if stage == "final" else wrong_delegates, kind="miscount")
            if wrong.seq is None:
                return
            self._wrong[stage] = wrong.seq
            if stage == "delegates" and not self.recanvassed:
                final = next(x for x in self.truth.bodies() if x["stage"] == "final")
                await self.correct_together((final, body), "recounted the preference groups: people were written "
                                                            "in the wrong group; the delegates follow")
            return
        if stage == "attendance" and self._chance(b.typo):
            typed = "in_person" if "in_person" in body else "attendance"  # with early ballots: the room's count
            wrong, _ = await self.send({**body, typed: body[typed] + self.rng.randint(1, 9)})
            if wrong.seq is not None:
                await self.send({**body, "supersedes_seq": wrong.seq,
                                 "reason": "typed the wrong attendance; the sign-in sheet says "
                                           f"{body[typed]}"}, kind="correction")
                return
        if stage == "delegates" and self.truth.impossible_delegates:
            wrong, _ = await self.send({"stage": "delegates", "delegates": {
                g: n for g, n in self.truth.impossible_delegates.items() if n}}, kind="refused")
            if wrong.seq is not None:  # the server's recomputation allowed them after all: correct them
                wrong.kind = "report"
                self.tally.event(f"{self.truth.code}: the published delegates were accepted; corrected")
                await self.send({**body, "supersedes_seq": wrong.seq,
                                 "reason": "the worksheet's delegates were copied wrong"}, kind="correction")
                return
        if self.truth.held:
            body = {**body, "confirm": True}  # the worksheet says so: recorded, held for review
        if self._chance(b.double_tap):
            key = str(uuid.uuid4())
            await asyncio.gather(self.send(body, key=key), self.send(body, key=key, kind="replay"))
            return
        sent, _ = await self.send(body, flaky=self._chance(b.flaky))
        if sent.acked_at is not None and self._chance(b.resend):
            again = await self.client.request("POST", "/api/v1/reports", sent=None, data=encode(body),
                                              headers={**self.auth, **JSON, "Idempotency-Key": sent.key})
            if again is not None and again.status_code == 200:
                sent.replays += 1

    async def photo(self) -> None:
        sent = Sent(str(uuid.uuid4()), self.truth.code, "photo", "photo", time.monotonic())
        self.tally.sent.append(sent)
        await self.client.request("POST", "/api/v1/chair/photos", sent=sent, data=worksheet_photo(
            self.truth.code, self.rng.randint(0, 10**6)), headers={
                **self.auth, "Idempotency-Key": sent.key, "Content-Type": "image/jpeg"}, reauth=self.sign_in)

    async def night(self, start: float) -> None:
        times = self.timeline.times(self.rng)
        try:
            await asyncio.sleep(max(0.0, start + times[0] * 0.5 - time.monotonic()))
            await self.sign_in()
            for body, at in zip(self.truth.bodies(), times, strict=True):
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                await self.report(body)
            if self._chance(self.behaviour.photo):
                await self.photo()
        except RuntimeError as exc:
            self.tally.event(str(exc))
        finally:
            self.tally.chairs_done += 1


class HotlineDesk(Protocol):
    """The hotline at HQ (see caucus.rehearse.hq)."""

    async def report(self, truth: PrecinctTruth, credential: str, times: tuple[float, ...], start: float
                     ) -> None: ...


@dataclass
class Fault:
    """``action`` runs once when ``at`` (a share of the night, 0-1) has passed."""

    at: float
    name: str
    action: Callable[[], Awaitable[None]]


def can_phone(unit: PrecinctTruth) -> bool:
    """Whether a unit can report through the hotline console as it stands (no numbers that need insisting
    on; games of chance are keyed on the console)."""
    return not unit.held and not unit.impossible_delegates


async def play(base_url: str, truth: GroundTruth, credentials: dict[str, str], *,
               hotline_codes: dict[str, str] | None = None, behaviour: Behaviour,
               timeline: Timeline, tally: Tally, faults: Sequence[Fault] = (), seed: int = 1,
               connections: int = 64, hotline: HotlineDesk | None = None, in_app: int = 0,
               screenshots: Path | None = None, attack: Callable[[], Awaitable[object]] | None = None) -> Tally:
    """Play the night; returns when every chair is done (every report acknowledged or refused). With a
    ``hotline`` desk, a share (``behaviour.hotline``) of the units that can report by phone do; ``in_app``
    chairs use the real chair app in headless Chromium; a share (``behaviour.both``) of the others report on
    the app and by phone. ``attack`` runs beside the chairs (see :mod:`caucus.rehearse.attack`)."""
    rng = random.Random(seed)
    tally.chairs_total = len(truth.precincts)
    async with Client(base_url, tally, connections=connections) as client:
        start = time.monotonic()
        chairs = [Chair(client, p, credentials[p.code], rng=random.Random(rng.random()), behaviour=behaviour,
                        timeline=timeline, tally=tally, address=chair_address(i))
                  for i, p in enumerate(truth.precincts)]
        phoned = {c.truth.code for c in chairs if hotline is not None and can_phone(c.truth)
                  and c.rng.random() < behaviour.hotline}
        if hotline is not None:
            ties = [c.truth.code for c in chairs if c.truth.chance and can_phone(c.truth)]
            phoned |= set(ties[:behaviour.phone_ties])
        tally.phoned_ties = {c.truth.code for c in chairs if c.truth.code in phoned and c.truth.chance}
        both = {c.truth.code for c in chairs if hotline is not None and c.truth.code not in phoned
                and can_phone(c.truth) and c.rng.random() < behaviour.both}
        tally.both_channels = set(both)
        app_users = [c for c in chairs if c.truth.code not in phoned | both and usable_in_app(c.truth)][:in_app]
        in_browser = {c.truth.code for c in app_users}
        plan = truth.load_plan() if behaviour.move or behaviour.recanvass else None
        for c in chairs:
            if plan is None or c.truth.code in phoned | both | in_browser or c.truth.held \
                    or c.truth.impossible_delegates:
                continue
            if len(tally.recanvass_units) < behaviour.recanvass:
                c.miscount = miscount(plan, c.truth)
                if c.miscount is not None:
                    c.recanvassed = True
                    tally.recanvass_units[c.truth.code] = c.truth
            elif c.rng.random() < behaviour.move:
                c.miscount = miscount(plan, c.truth)

        async def in_the_app(chair: Chair) -> None:
            try:
                await asyncio.sleep(max(0.0, start + timeline.duration * 0.2 - time.monotonic()))
                tally.event(f"{chair.truth.code}: chair opens the app in Chromium")
                await asyncio.to_thread(report_in_app, base_url, chair.truth, chair.credential, screenshots)
                tally.event(f"{chair.truth.code}: every report sent from the app holds its receipt")
            except Exception as exc:  # a browser failure is a finding of the rehearsal, not a crash of it
                tally.event(f"{chair.truth.code}: the app did not finish: {str(exc)[:200]}")
                tally.error("chair app did not finish")
            finally:
                tally.chairs_done += 1

        async def by_phone(chair: Chair, count: bool = True) -> None:
            assert hotline is not None
            try:
                await hotline.report(chair.truth, (hotline_codes or {})[chair.truth.code], timeline.times(chair.rng),
                                     start)
            except (RuntimeError, httpx.HTTPError) as exc:  # the call failed: the verdicts will show it
                tally.event(f"{chair.truth.code}: hotline call failed: {exc!r}"[:300])
                tally.error("hotline call failed")
            finally:
                tally.chairs_done += count

        async def on_both(chair: Chair) -> None:
            await asyncio.gather(chair.night(start), by_phone(chair, count=False))

        async def attacker() -> None:
            if attack is not None:
                await asyncio.sleep(max(0.0, start + timeline.duration * 0.1 - time.monotonic()))
                tally.event("attacker: flood of wrong credentials begins")
                await attack()
                tally.event("attacker: flood over")

        async def run_faults() -> None:
            for fault in sorted(faults, key=lambda f: f.at):
                await asyncio.sleep(max(0.0, start + fault.at * timeline.duration - time.monotonic()))
                tally.event(f"fault: {fault.name}")
                await fault.action()
                tally.event(f"fault over: {fault.name}")

        await asyncio.gather(run_faults(), attacker(), *(
            by_phone(c) if c.truth.code in phoned else in_the_app(c) if c.truth.code in in_browser
            else on_both(c) if c.truth.code in both else c.night(start) for c in chairs))
    return tally

"""One rehearsal from start to finish: a database and an election from the ground truth's plan, a real
server (1 or more workers) with continuous release on, the night played through the HTTP API with the
chosen faults, and then the checks that matter: every acknowledged report is in the ledger (lost = 0), no
report was recorded twice (duplicates = 0), the hash chain verifies, and the published totals equal the
ground truth's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy.engine import make_url

from caucus.ledger import HashCost, make_engine, sqlite_url_for_dir, verify_chain
from caucus.ledger.pgcluster import LocalCluster, PostgresServer, managed_cluster
from caucus.rehearse.attack import Attack, AttackTally, flood
from caucus.rehearse.behaviours import (
    Verdict,
    both_channels,
    corrections_move_delegates,
    credential_flood,
    recanvass_moves_delegates,
    ties_phoned_in,
    went_live,
)
from caucus.rehearse.cpu import process_cpu
from caucus.rehearse.early import early_csv
from caucus.rehearse.faults import SlowProxy
from caucus.rehearse.golive import GoLive, recanvass, rehearse_then_go_live
from caucus.rehearse.hq import Desk, StaffAccount, StaffClient, staff_accounts
from caucus.rehearse.nginx import NginxProcess
from caucus.rehearse.night import Behaviour, Fault, Tally, Timeline, play
from caucus.rehearse.published import Feed, Published, published_codes
from caucus.rehearse.server import REHEARSAL_COST, ReleaserProcess, ServerProcess, prepare_cards
from caucus.rehearse.truth import GroundTruth
from caucus.rehearse.verify import LedgerCheck, check_ledger, compare_totals, unpublished
from caucus.service import load_context
from caucus.service.early_ballots import EarlyBallotService
from caucus.service.staff import StaffService
from caucus.service.status import read_statuses

SLUG = "caucus-night"  # the night's election (it was "rehearsal": confusing beside its rehearsal phase)


@dataclass
class Rehearsal:
    truth: GroundTruth
    directory: Path
    engine: Literal["sqlite", "postgres"] = "sqlite"
    workers: int = 1
    timeline: Timeline = field(default_factory=Timeline)
    behaviour: Behaviour = field(default_factory=Behaviour)
    kills: tuple[float, ...] = ()  # shares of the night at which the server is SIGKILLed and restarted
    pg_restarts: tuple[float, ...] = ()  # ... at which PostgreSQL is restarted (immediate stop, start)
    slow: tuple[float, float, float] | None = None  # (from, to) shares of the night, delay in seconds
    seed: int = 1
    connections: int = 64
    publish_timeout: float = 180.0
    pg_url: str | None = None  # an existing PostgreSQL server to create the database in
    continuous: bool = True  # the director switches continuous release on before the night
    in_app: int = 0  # chairs who use the real chair app in headless Chromium
    release_interval: float = 2.0  # seconds between looks of the continuous release for new results
    #: the server's CAUCUS_BULK_INTERVAL: a compressed night keeps the whole-state files within seconds
    bulk_interval: float = 5.0
    port: int | None = None  # the server's port (default: a free one)
    keep_serving: bool = False  # leave the server running at the end (the demo)
    nginx: bool = False  # clients go through nginx (caucus/deploy/nginx/caucus.conf), which serves the snapshots itself
    attack: int = 0  # wrong sign-ins an attacker floods during the night (0: no attacker)
    attack_addresses: int = 200  # ... from this many addresses
    go_live: int = 0  # chairs who practise before the night (a test release), then the election goes live
    all_cards: bool = False  # cards for every unit of the plan, as a real election issues them (not only the played)
    card_cost: HashCost = REHEARSAL_COST  # argon2 cost of the cards' hashes (rehearse/server.py)


@dataclass
class Progress:
    """What the live view shows: the clients' tally and what the public feed says."""

    tally: Tally
    published: Published | None = None
    phase: str = "starting"
    expected: int = 0
    desk: Desk | None = None
    published_at: float | None = None  # when the feed first showed every unit to publish (monotonic)
    published_codes: set[str] = field(default_factory=set)
    attack: AttackTally | None = None
    staff_after_flood: dict[str, int] = field(default_factory=dict)
    go_live: GoLive | None = None
    recanvass: dict[str, Any] | None = None
    #: CPU seconds (from /proc) at the start and the end of the night: client (this process), server (every
    #: instance and worker), releaser; and the night's wall time
    cpu_start: tuple[float, float, float] | None = None
    cpu_end: tuple[float, float, float] | None = None
    night_seconds: float | None = None


@dataclass
class Outcome:
    config: Rehearsal
    tally: Tally
    ledger: LedgerCheck
    published: Published | None
    totals: dict[str, Any]
    expected: int
    last_ack_to_published: float | None
    wall: float
    server_log: str = ""
    server: ServerProcess | None = None
    releaser: ReleaserProcess | None = None
    staff: list[StaffAccount] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)
    behaviours: list[Verdict] = field(default_factory=list)
    #: the hotline code on each precinct's card (what a chair reads to the hotline)
    hotline_codes: dict[str, str] = field(default_factory=dict)
    #: what the night cost, from /proc (see :func:`cost`)
    cost: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (all(v.ok for v in self.behaviours)
                and self.ledger.lost == 0 and self.ledger.duplicates == 0 and self.ledger.chain_ok
                and not self.ledger.content_mismatches and not self.ledger.unexpected_refusals
                and self.totals.get("identical") is True and self.published is not None
                and self.published.reporting == self.expected)


@contextlib.contextmanager
def _database(config: Rehearsal) -> Iterator[tuple[str, LocalCluster | None]]:
    if config.engine == "sqlite":
        yield sqlite_url_for_dir(config.directory / "data"), None
        return
    if config.pg_url is not None and not config.pg_restarts:
        server = PostgresServer(make_url(config.pg_url))
        url = server.create_database()
        try:
            yield url, None
        finally:
            server.drop_database(url)
        return
    with managed_cluster() as cluster:
        yield PostgresServer(cluster.url).create_database(), cluster


async def _sample(feed: Feed, progress: Progress, stop: asyncio.Event, every: float = 0.25) -> None:
    while not stop.is_set():
        progress.published = await feed.statewide() or progress.published
        if progress.published is not None and progress.published.reporting >= progress.expected \
                and progress.published_at is None:
            progress.published_at = time.monotonic()
        tally = progress.tally
        tally.samples.append({
            "t": time.monotonic() - tally.started, "acknowledged": tally.acked_count,
            "precincts_acknowledged": tally.precincts_fully_acknowledged(),
            "published": progress.published.reporting if progress.published else 0,
            "errors": sum(tally.errors.values())})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def _wait_published(feed: Feed, progress: Progress, timeout: float) -> float | None:
    """Seconds until the feed shows every expected unit (None if it never does within ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        progress.published = await feed.statewide() or progress.published
        if progress.published is not None and progress.published.reporting >= progress.expected:
            progress.published_at = progress.published_at or time.monotonic()
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None


def add_staff(url: str, accounts: list[StaffAccount], actor: str = "rehearsal:admin") -> None:
    """The admin creates the night's staff accounts (as ``caucus staff add`` does)."""
    engine = make_engine(url)
    try:
        service = StaffService(engine, election_id=load_context(engine, SLUG).election_id)
        for account in accounts:
            service.add_user(account.username, account.username, account.role, account.password, actor=actor)
    finally:
        engine.dispose()


def import_early_ballots(url: str, slug: str, truth: GroundTruth, directory: Path) -> None:
    """Before the night: the party's early-vote export of the truth's early ballots, written to
    ``directory/early-ballots.csv`` and imported as ``caucus early-ballots import`` does."""
    units = [p for p in truth.precincts if p.early]
    export = directory / "early-ballots.csv"
    export.write_text(early_csv(units, {p.code: (p.code.split("/", 1)[0], p.code.split("/", 1)[1]) for p in units}),
                      encoding="utf-8")
    engine = make_engine(url)
    try:
        EarlyBallotService(engine, load_context(engine, slug)).import_file(
            export.read_bytes(), actor="rehearsal", source=export.name)
    finally:
        engine.dispose()


def rehearse(config: Rehearsal, on_progress: Callable[[Progress], None] | None = None) -> Outcome:
    """Run the rehearsal; ``on_progress`` is called about twice a second (the live view)."""
    wall = time.monotonic()
    config.directory.mkdir(parents=True, exist_ok=True)
    truth = config.truth
    with _database(config) as (url, cluster):
        codes = [p.code for p in truth.load_plan().precincts] if config.all_cards else [p.code for p in truth.precincts]
        cards = prepare_cards(url, SLUG, codes, plan=truth.plan, cost=config.card_cost)
        if any(p.early for p in truth.precincts):
            import_early_ballots(url, SLUG, truth, config.directory)
        credentials = {code: card.credential for code, card in cards.items()}
        hotline_codes = {code: card.hotline_code for code, card in cards.items()}
        snapshots = config.directory / "snapshots"
        # plain http on 127.0.0.1: the staff cookie cannot be Secure-only here (it must be behind TLS)
        env = {"CAUCUS_SNAPSHOT_DIR": str(snapshots), "CAUCUS_RELEASE_INTERVAL_SECONDS": str(config.release_interval),
               "CAUCUS_STAFF_COOKIE_SECURE": "false",
               # snapshots are built by their own process, so that they never compete with the requests
               "CAUCUS_RELEASE_IN_APP": "false", "CAUCUS_BULK_INTERVAL": str(config.bulk_interval)}
        releaser = ReleaserProcess(url, SLUG, snapshots, config.release_interval,
                                   env={"CAUCUS_BULK_INTERVAL": str(config.bulk_interval)})
        staff = staff_accounts()
        add_staff(url, staff)
        server = ServerProcess(url, SLUG, workers=config.workers, env=env, port=config.port)
        server.start()
        releaser.start()
        # plain http, every phone on 127.0.0.1: exempt from nginx's per-address limits (rehearse/nginx.py)
        proxy = NginxProcess(snapshots / SLUG, f"127.0.0.1:{server.port}", workers=2,
                             unlimited=("127.0.0.1",)) if config.nginx else None
        try:
            if proxy is not None:
                proxy.start()
            tally = Tally()
            progress = Progress(tally, expected=len(truth.published))
            front = proxy.base_url if proxy is not None else server.base_url
            outcome_wait = asyncio.run(_night(config, server, releaser, cluster, credentials=credentials,
                                              hotline_codes=hotline_codes, progress=progress,
                                              on_progress=on_progress, staff=staff, front=front, url=url))
        finally:
            if proxy is not None:
                proxy.stop()
            if not config.keep_serving:
                server.stop()
                releaser.stop()
            log = server.log()
        engine = make_engine(url)
        try:
            ledger = check_ledger(engine, SLUG, tally, truth)
            ledger.chain_ok = verify_chain(engine, SLUG).ok
            ledger.unpublished = unpublished(engine, SLUG, truth, progress.published_codes)
            statuses = read_statuses(engine, load_context(engine, SLUG))
            states = {code: status.state for code, status in statuses.items()}
        finally:
            engine.dispose()
    totals = compare_totals(truth, progress.published)
    behaviours = [
        credential_flood(progress.attack.as_dict() if progress.attack else None, tally.refused_right_credential,
                         tally.signins, progress.staff_after_flood),
        both_channels(tally.both_channels, states, progress.published_codes),
        corrections_move_delegates(tally.moved, {m.split(" ", 1)[0] for m in ledger.content_mismatches}),
        went_live(progress.go_live, progress.published_codes, totals.get("identical") is True),
        recanvass_moves_delegates(progress.recanvass),
        ties_phoned_in(tally.phoned_ties, states, progress.published_codes,
                       {m.split(" ", 1)[0] for m in ledger.content_mismatches}),
    ]
    return Outcome(config, tally, ledger, progress.published, totals, len(truth.published), outcome_wait,
                   time.monotonic() - wall, log[-5000:], server=server, staff=staff, credentials=credentials,
                   hotline_codes=hotline_codes, releaser=releaser, behaviours=behaviours,
                   cost=cost(progress, ledger.acknowledged))


def _cpu_now(server: ServerProcess, releaser: ReleaserProcess) -> tuple[float, float, float]:
    return process_cpu(), server.cpu.seconds(), releaser.cpu.seconds()


def cost(progress: Progress, acknowledged: int) -> dict[str, Any]:
    """CPU per acknowledged report over the night (from the first chair's start to the last chair done), of
    the load generator (this process: chairs, hotline desk, attacker, sampler, live view) and of the server
    (every instance and worker, plus the snapshot releaser), from /proc."""
    if progress.cpu_start is None or progress.cpu_end is None:
        return {}
    client, server, releaser = (end - start for start, end in zip(progress.cpu_start, progress.cpu_end, strict=True))

    def per_report(seconds: float) -> float | None:
        return round(seconds * 1000 / acknowledged, 3) if acknowledged else None

    return {"window": "the night: first chair starts to last chair done", "night_wall_seconds": progress.night_seconds,
            "acknowledged_reports": acknowledged,
            "client_cpu_seconds": round(client, 2), "server_cpu_seconds": round(server + releaser, 2),
            "app_cpu_seconds": round(server, 2), "releaser_cpu_seconds": round(releaser, 2),
            "client_cpu_ms_per_report": per_report(client), "server_cpu_ms_per_report": per_report(server + releaser)}


async def _night(config: Rehearsal, server: ServerProcess, releaser: ReleaserProcess, cluster: LocalCluster | None,
                 *,
                 credentials: dict[str, str], hotline_codes: dict[str, str], progress: Progress,
                 on_progress: Callable[[Progress], None] | None,
                 staff: list[StaffAccount], front: str, url: str) -> float | None:
    """``front``: where the clients go (the server, or nginx in front of it)."""
    front_port = int(front.rsplit(":", 1)[1])
    proxy = SlowProxy(front_port) if config.slow else None
    base_url = front
    if proxy is not None:
        await proxy.start()
        base_url = proxy.base_url
    faults = _faults(config, server, cluster, proxy)
    stop = asyncio.Event()

    async def show() -> None:
        while not stop.is_set() and on_progress is not None:
            on_progress(progress)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    feed = Feed(front)
    sampler = asyncio.create_task(_sample(feed, progress, stop))
    viewer = asyncio.create_task(show())
    clients = {a.username: StaffClient(base_url, a, progress.tally) for a in staff}
    try:
        for client in clients.values():
            await client.sign_in()
        director = clients["director"]
        if config.go_live:
            progress.phase = "rehearsal, then go-live"
            progress.go_live = await rehearse_then_go_live(
                front, config.truth, credentials, director, units=config.go_live, database_url=url, slug=SLUG,
                snapshots=config.directory / "snapshots")
            progress.tally.event(f"the election went live after a rehearsal of {len(progress.go_live.units)} "
                                 f"precincts; public feed answers {progress.go_live.feed_after_go_live}")
        if config.continuous:  # the results director, on HQ's release page, before the night
            for done, what in ((await director.release_zero(), "zero-count rehearsal release"),
                               (await director.switch_continuous(True), "continuous release on")):
                progress.tally.event(f"director: {what}" + ("" if done else " FAILED"))
                if not done:
                    raise RuntimeError(f"the director's {what} was refused")
        desk = Desk(clients["operator1"], clients["operator2"])
        progress.desk = desk
        progress.phase = "night"
        attack: Callable[[], Awaitable[None]] | None = None
        if config.attack:
            progress.attack = AttackTally()
            plan = Attack(codes=[p.code for p in config.truth.precincts], staff=("director", "reviewer", "operator1"),
                          attempts=config.attack, addresses=config.attack_addresses,
                          duration=config.timeline.duration * 0.6, seed=config.seed)

            async def flood_then_staff() -> None:
                assert progress.attack is not None
                await flood(base_url, plan, progress.attack)
                # the staff whose accounts were attacked sign in afresh, right after the flood
                for account in staff:
                    if account.username in plan.staff:
                        progress.staff_after_flood[account.username] = await StaffClient(
                            base_url, account, progress.tally).try_sign_in()
            attack = flood_then_staff
        progress.cpu_start = _cpu_now(server, releaser)
        night_started = time.monotonic()
        await play(base_url, config.truth, credentials, hotline_codes=hotline_codes, behaviour=config.behaviour,
                   timeline=config.timeline,
                   tally=progress.tally, faults=faults, seed=config.seed, connections=config.connections,
                   hotline=desk, in_app=config.in_app, screenshots=config.directory / "screenshots",
                   attack=attack)
        progress.night_seconds = round(time.monotonic() - night_started, 1)
        progress.cpu_end = _cpu_now(server, releaser)
        progress.tally.event("every chair is done")
        progress.phase = "review"
        for unit in config.truth.precincts:
            if unit.held:  # impossible as reported: HQ asks the chair to call with the worksheet
                sent = await clients["reviewer"].message_chair(
                    unit.code, "Your numbers break the caucus rules as reported. Please call HQ with the signed "
                               "worksheet and the preference cards so we can check them.")
                progress.tally.event(f"reviewer messaged {unit.code}" + ("" if sent else ": FAILED"))
        progress.phase = "publishing"
        if await _wait_published(feed, progress, config.publish_timeout) is None:
            progress.published_at = None
        if progress.tally.recanvass_units:
            progress.phase = "recanvass"
            progress.recanvass = await recanvass(
                front, clients["reviewer"], progress.tally.recanvass_units,
                since_release=progress.published.release if progress.published else None,
                totals_match=lambda: _totals_match(feed, progress, config.truth), timeout=config.publish_timeout,
                database_url=url)
            progress.tally.event(f"recanvass {progress.recanvass.get('request')} of "
                                 f"{len(progress.tally.recanvass_units)} precincts corrected at HQ")
        async with httpx.AsyncClient(base_url=front, timeout=30) as http:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                progress.published_codes = await published_codes(http)
        return _last_report_to_published(progress, config.truth)
    finally:
        for client in clients.values():
            await client.close()
        progress.phase = "done"
        stop.set()
        await asyncio.gather(sampler, viewer)
        await feed.close()
        if on_progress is not None:
            on_progress(progress)
        if proxy is not None:
            await proxy.stop()


async def _totals_match(feed: Feed, progress: Progress, truth: GroundTruth) -> bool:
    progress.published = await feed.statewide() or progress.published
    return compare_totals(truth, progress.published).get("identical") is True


def _last_report_to_published(progress: Progress, truth: GroundTruth) -> float | None:
    """Seconds from the acknowledgment of the last report of a unit to publish to the moment the feed showed
    every such unit (None if it never did)."""
    if progress.published_at is None:
        return None
    wanted = {u.code for u in truth.published}
    acked = [s.acked_at for s in progress.tally.sent
             if s.acked_at is not None and s.precinct in wanted
             and s.kind in ("report", "correction", "miscount", "corrections")]
    return max(0.0, progress.published_at - max(acked)) if acked else None


def _faults(config: Rehearsal, server: ServerProcess, cluster: LocalCluster | None,
            proxy: SlowProxy | None) -> list[Fault]:
    faults: list[Fault] = []

    async def kill_and_restart() -> None:
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(server.start)

    for at in config.kills:
        faults.append(Fault(at, "server SIGKILL and restart", kill_and_restart))
    if config.pg_restarts and cluster is None:
        raise ValueError("a PostgreSQL restart needs the rehearsal's own cluster (--engine postgres, no --pg-url)")
    for at in config.pg_restarts:
        assert cluster is not None
        restart = cluster.restart

        async def pg_restart(restart: Callable[[], None] = restart) -> None:
            await asyncio.to_thread(restart)

        faults.append(Fault(at, "PostgreSQL restart", pg_restart))
    if config.slow and proxy is not None:
        begin, end, delay = config.slow

        async def slow_on(proxy: SlowProxy = proxy, delay: float = delay) -> None:
            proxy.delay = delay

        async def slow_off(proxy: SlowProxy = proxy) -> None:
            proxy.delay = 0.0

        faults += [Fault(begin, f"slow responses (+{delay:g} s)", slow_on), Fault(end, "responses fast again",
                                                                                  slow_off)]
    return faults

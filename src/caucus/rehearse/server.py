"""A real ``uvicorn`` server process serving ``caucus.web.app:create_app``, which can be SIGKILLed and
restarted, and the election it serves."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from caucus.ledger import HashCost, IssuedCredential, PrecinctSpec, create_election, issue_cards, make_engine, upgrade
from caucus.plans import load_plan
from caucus.rehearse.cpu import CpuAccount

__all__ = ["REHEARSAL_COST", "SYNTHETIC_COST", "ServerProcess", "free_port", "prepare_cards", "prepare_election"]

#: argon2 parameters for rehearsals and benchmarks only (real elections use the production default)
REHEARSAL_COST = HashCost(time_cost=1, memory_cost_kib=1024, parallelism=1)
#: ... and for synthetic states, whose 175,000 cards (350,000 hashes) would otherwise take minutes of CPU
#: to issue: argon2id with 64 KiB, 1 pass. The cost decides how long one hash takes, not what is checked;
#: a sign-in is verified the same way (docs/rehearse.md)
SYNTHETIC_COST = HashCost(time_cost=1, memory_cost_kib=64, parallelism=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_cards(url: str, slug: str, codes: Iterable[str], plan: str = "iowa-2020",
                  cost: HashCost = REHEARSAL_COST) -> dict[str, IssuedCredential]:
    """Migrate ``url``, create election ``slug`` from ``plan`` in test mode, and issue cards (app credential
    and hotline code) for ``codes``; returns them by precinct code."""
    upgrade(url)
    engine = make_engine(url)
    try:
        the_plan = load_plan(plan)
        specs = [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in the_plan.precincts]
        create_election(engine, slug, plan, "test", specs)
        return issue_cards(engine, slug, list(codes), cost=cost)
    finally:
        engine.dispose()


def prepare_election(url: str, slug: str, codes: Iterable[str], plan: str = "iowa-2020",
                     cost: HashCost = REHEARSAL_COST) -> dict[str, str]:
    """:func:`prepare_cards`, returning only the app credentials by precinct code."""
    return {code: card.credential for code, card in prepare_cards(url, slug, codes, plan, cost).items()}


class ReleaserProcess:
    """``caucus release watch``: the continuous-release loop in its own process, beside app workers started
    with ``CAUCUS_RELEASE_IN_APP=false``."""

    def __init__(self, database_url: str, election: str, snapshots: Path, interval: float = 1.0, *,
                 env: dict[str, str] | None = None) -> None:
        #: extra environment (``CAUCUS_*`` settings, e.g. ``CAUCUS_BULK_INTERVAL``)
        self.env = dict(env or {})
        self.command = [sys.executable, "-c", "from caucus.cli import main; main()", "release", "watch",
                        "--database", database_url, "--election", election, "--snapshots", str(snapshots),
                        "--interval", str(interval)]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="caucus-releaser-", suffix=".log")[1])
        #: CPU seconds of the releaser (from /proc)
        self.cpu = CpuAccount()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=log,
                                            start_new_session=True, env={**os.environ, **self.env})
        self.cpu.started(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        self.cpu.ending()
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


class ServerProcess:
    """``uvicorn --factory caucus.web.app:create_app`` on 127.0.0.1 in a subprocess.

    The app believes ``X-Forwarded-For`` from loopback (``CAUCUS_TRUSTED_PROXIES=127.0.0.1``, unless ``env``
    says otherwise): the rehearsal's clients run on this host and give each phone its own address in that
    header, and so does nginx in front of it."""

    def __init__(self, database_url: str, election: str, *, workers: int = 1, port: int | None = None,
                 cwd: Path | None = None, log_level: str = "warning", env: dict[str, str] | None = None) -> None:
        self.database_url, self.election, self.workers = database_url, election, workers
        #: extra environment for the server (``CAUCUS_*`` settings)
        self.env = {"CAUCUS_TRUSTED_PROXIES": "127.0.0.1", **(env or {})}
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.cwd, self.log_level = cwd, log_level
        self.process: subprocess.Popen[bytes] | None = None
        #: the server's stderr (a file, so a chatty server can never block on a full pipe)
        self.log_path = Path(tempfile.mkstemp(prefix="caucus-server-", suffix=".log")[1])
        #: CPU seconds of every instance of the server, workers included (from /proc)
        self.cpu = CpuAccount()

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "CAUCUS_DATABASE_URL": self.database_url, "CAUCUS_ELECTION": self.election,
               **self.env}
        command = [sys.executable, "-m", "uvicorn", "--factory", "caucus.web.app:create_app", "--host",
                   "127.0.0.1", "--port", str(self.port), "--log-level", self.log_level,
                   "--workers", str(self.workers), "--no-proxy-headers"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, cwd=self.cwd, stdout=subprocess.DEVNULL,
                                            stderr=log, start_new_session=True)
        self.cpu.started(self.process.pid)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:  # one client: each new one loads the CA store (~70 ms of CPU)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}: {self.log()[-2000:]}")
                try:
                    if client.get(f"{self.base_url}/api/v1/health").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer on {self.base_url} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL the server and every worker (its process group): no shutdown code runs."""
        if self.process is None:
            return
        self.cpu.ending()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the writer commits what is queued and closes."""
        if self.process is None:
            return
        self.cpu.ending()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

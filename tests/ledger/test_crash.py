"""Durability: every receipt a killed process printed is in the reopened ledger, with its seq."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from caucus.ledger import entries, make_engine, verify_chain
from tests.ledger.support import PRECINCTS, PYTHON, SLUG, subprocess_env

WORKER = Path(__file__).with_name("crash_worker.py")
ACKS_BEFORE_KILL = 300
DEADLINE_S = 30.0


def test_acknowledged_receipts_survive_sigkill(engine: Engine, election: str, tmp_path: Path) -> None:
    """Two worker processes (two writers, as two app workers would be) submit from eight threads each;
    both are killed with SIGKILL in the middle of the burst."""
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    codes = [spec.code for spec in PRECINCTS]
    acked: dict[str, int] = {}
    lock = threading.Lock()
    procs: list[subprocess.Popen[str]] = []
    readers: list[threading.Thread] = []

    def read(proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seq, key = line.split()
            with lock:
                acked[key] = int(seq)

    for name in ("w1", "w2"):
        with (tmp_path / f"{name}.err").open("w") as err:
            proc = subprocess.Popen(
                [PYTHON, str(WORKER), url, SLUG, name, "8", *codes],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=subprocess_env(),
            )
        procs.append(proc)
        readers.append(threading.Thread(target=read, args=(proc,)))
        readers[-1].start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(acked) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in procs):
                break
            time.sleep(0.01)
        alive = [proc.poll() is None for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        for reader in readers:
            reader.join()
        for proc in procs:
            if proc.stdout is not None:
                proc.stdout.close()
    errors = "\n".join((tmp_path / f"{name}.err").read_text() for name in ("w1", "w2"))
    assert all(alive), f"a worker stopped before it was killed:\n{errors}"
    assert len(acked) >= ACKS_BEFORE_KILL, f"only {len(acked)} receipts in {DEADLINE_S} s:\n{errors}"
    assert [proc.returncode for proc in procs] == [-signal.SIGKILL, -signal.SIGKILL]

    reopened = make_engine(url)
    try:
        stored = {entry.idempotency_key: entry.seq for entry in entries(reopened, SLUG)}
        missing = {key: seq for key, seq in acked.items() if stored.get(key) != seq}
        assert missing == {}, f"{len(missing)} acknowledged receipts lost or moved"
        assert sorted(stored.values()) == list(range(1, len(stored) + 1))
        report = verify_chain(reopened, SLUG)
        assert report.ok, report
        assert report.entries_checked == len(stored) >= len(acked)
    finally:
        reopened.dispose()

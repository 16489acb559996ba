"""Smoke test: a real uvicorn process serving the app factory, driven over real HTTP with httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from caucus.ledger import entries, make_engine
from tests.ledger.support import subprocess_env
from tests.web.conftest import Prepared
from tests.web.support import GRINNELL, SLUG

START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"uvicorn exited with {server.returncode}: {server.communicate()[1]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"uvicorn did not answer within {START_TIMEOUT} s")


def test_a_real_server_takes_a_report_over_http(sqlite_database: Prepared, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**subprocess_env(), "CAUCUS_DATABASE_URL": sqlite_database.url, "CAUCUS_ELECTION": SLUG}
    command = [sys.executable, "-m", "uvicorn", "--factory", "caucus.web.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        _wait_until_up(base, server)
        with httpx.Client(base_url=base, timeout=10) as http:
            signed = http.post("/api/v1/session", json={"precinct": GRINNELL,
                                                        "credential": sqlite_database.secrets[GRINNELL]})
            assert signed.status_code == 201, signed.text
            headers = {"Authorization": f"Bearer {signed.json()['token']}", "Idempotency-Key": str(uuid.uuid4())}
            sent = http.post("/api/v1/reports", json={"stage": "attendance", "attendance": 328}, headers=headers)
            assert sent.status_code == 201, sent.text
            retried = http.post("/api/v1/reports", json={"stage": "attendance", "attendance": 328}, headers=headers)
            assert retried.status_code == 200 and retried.json()["receipt"] == sent.json()["receipt"]
            status = http.get("/api/v1/precinct", headers={"Authorization": headers["Authorization"]}).json()
            assert status["state"] == "reported" and status["stages"]["attendance"][0]["seq"] == 1
            assert http.get("/api/v1/openapi.json").json()["info"]["title"] == "caucus"
    finally:
        os.kill(server.pid, signal.SIGTERM)  # graceful: the lifespan stops the writer
        _, stderr = server.communicate(timeout=30)
    # uvicorn re-raises the signal once it has shut down gracefully: the lifespan must have completed
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Application startup complete." in stderr and "Application shutdown complete." in stderr, stderr
    assert "Traceback" not in stderr, stderr
    engine = make_engine(sqlite_database.url)
    try:
        assert [(e.seq, e.payload) for e in entries(engine, SLUG)] == [(1, {"attendance": 328})]
    finally:
        engine.dispose()

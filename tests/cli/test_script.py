"""The installed ``caucus`` script, run as a real process: the night's set-up from init to verify, and a
real server started by ``caucus serve`` accepting a credential printed by ``caucus pins``."""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.support import db_url, write_example_plan

CAUCUS = Path(sys.executable).parent / "caucus"


def _caucus(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CAUCUS), *map(str, args)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def test_the_installed_script_from_init_to_verify(tmp_path: Path) -> None:
    assert CAUCUS.is_file(), f"{CAUCUS} is not installed (pip install -e .)"
    env = {**os.environ, "CAUCUS_DATABASE_URL": db_url(tmp_path), "COLUMNS": "200"}
    env.pop("CAUCUS_ELECTION", None)

    init = _caucus("init", "ia-2020", "--mode", "live", env=env)
    assert init.returncode == 0, init.stderr
    assert init.stdout.startswith("created election ia-2020 (live mode) from plan iowa-2020: 1,681 precincts, "
                                  "87 satellite sites")
    assert _caucus("init", "ia-2020", env=env).returncode == 2

    out = tmp_path / "cards"
    issue = _caucus("pins", "ia-2020", "issue", "-p", "Adair/01NW", "-p", "CD4 Satellite/1197", "--out", out,
                    "--hash-cost", "test", env={**env, "CAUCUS_CARDS_BASE_URL": "https://results.example-party.org"})
    assert issue.returncode == 0, issue.stderr
    assert issue.stdout.splitlines() == [str(out / "credentials.csv"), str(out / "credentials.pdf")]
    assert "issued 2 credentials" in issue.stderr  # messages on stderr, data on stdout
    with (out / "credentials.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["code"] for row in rows] == ["Adair/01NW", "CD4 Satellite/1197"]
    assert rows[0]["chair_url"] == "https://results.example-party.org/chair?precinct=Adair%2F01NW"  # the setting
    assert (out / "credentials.csv").stat().st_mode & 0o777 == 0o600

    verify = _caucus("verify", "--json", env=env)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["elections"][0] == {
        "election": "ia-2020", "ok": True, "entries_checked": 0, "head_hash": "0" * 64, "first_bad_seq": None,
        "problem": None}
    log = _caucus("log", "ia-2020", "--json", env=env)
    assert [json.loads(line)["action"] for line in log.stdout.splitlines()] == [
        "election.create", "credential.issue", "credential.issue"]

    # A forged row (inserted behind the ledger's back, with a made-up hash) is caught: exit 1, seq named.
    with sqlite3.connect(tmp_path / "data" / "caucus.db") as conn:
        conn.execute(
            "INSERT INTO ledger_entries (election_id, seq, precinct_id, channel, stage, payload, actor, "
            "idempotency_key, received_at, content_hash, prev_hash) SELECT e.id, 1, p.id, 'app', 'first', "
            "'{\"Biden\":5}', 'chair', 'k1', '2020-02-03T19:00:00.000000+00:00', ?, ? FROM elections e "
            "JOIN precincts p ON p.election_id = e.id WHERE p.code = 'Adair/01NW'", ("f" * 64, "0" * 64))
    broken = _caucus("verify", "ia-2020", env=env)
    assert broken.returncode == 1
    assert broken.stdout.startswith("ia-2020: BROKEN at seq 1: content hash ffffffffffff")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_caucus_serve_runs_the_web_app_and_a_printed_credential_signs_in(tmp_path: Path) -> None:
    env = {**os.environ, "CAUCUS_DATABASE_URL": db_url(tmp_path)}
    env.pop("CAUCUS_ELECTION", None)
    assert _caucus("init", "ex", "--plan", write_example_plan(tmp_path / "plan"), env=env).returncode == 0
    assert _caucus("pins", "ex", "issue", "--out", tmp_path / "o", "--hash-cost", "test", "--insecure-url",
                   env=env).returncode == 0
    with (tmp_path / "o" / "credentials.csv").open(newline="") as handle:
        card = next(row for row in csv.DictReader(handle) if row["code"] == "North/2")

    port = _free_port()
    server = subprocess.Popen([str(CAUCUS), "serve", "--port", str(port), "--election", "ex"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "caucus serve did not answer within 30 s"
                time.sleep(0.2)
        assert (health.status_code, health.json()["election"]) == (200, "ex")
        signed_in = httpx.post(f"{base}/session", json={"precinct": "North/2", "credential": card["credential"]})
        assert signed_in.status_code == 201, signed_in.text
        wrong = httpx.post(f"{base}/session", json={"precinct": "North/1", "credential": card["credential"]})
        assert wrong.status_code == 401, wrong.text
    finally:
        server.terminate()
        server.communicate(timeout=30)

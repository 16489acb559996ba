"""Settings from CAUCUS_* variables: defaults, fail-fast messages, and no work at import time."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caucus.service import Backoff, ElectionNotServable, ThrottleRules
from caucus.web.app import create_app
from caucus.web.settings import Settings, SettingsError, load_settings
from tests.ledger.support import subprocess_env
from tests.web.conftest import Prepared

VARIABLES = ("DATABASE_URL", "ELECTION", "SESSION_TTL_SECONDS", "MAX_BODY_BYTES", "SIGNIN_PAIR_FREE_FAILURES",
             "TRUSTED_PROXIES")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(f"CAUCUS_{name}", raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./var/caucus.db"
    assert settings.election is None
    assert settings.session_ttl == timedelta(hours=12)
    assert settings.max_body_bytes == 64 * 1024
    hour = timedelta(hours=1)
    assert settings.signin_rules == ThrottleRules(
        per_client=Backoff(free=20, base=timedelta(seconds=1), cap=timedelta(minutes=15), window=hour),
        per_pair=Backoff(free=5, base=timedelta(seconds=2), cap=timedelta(minutes=15), window=hour),
    )
    assert settings.hotline_rules == ThrottleRules(
        per_client=Backoff(free=20, base=timedelta(seconds=1), cap=timedelta(minutes=5), window=hour),
        per_pair=Backoff(free=3, base=timedelta(seconds=5), cap=timedelta(minutes=5), window=hour),
    )
    assert settings.staff_rules.per_client.free == 10 and settings.staff_rules.per_pair.free == 5
    assert not settings.proxies  # no proxy is trusted unless configured


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCUS_TRUSTED_PROXIES", "127.0.0.1, ::1 10.0.0.0/8")
    assert [str(n) for n in load_settings().proxies.networks] == ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]
    monkeypatch.setenv("CAUCUS_TRUSTED_PROXIES", "127.0.0.1,nginx")
    expected = r"CAUCUS_TRUSTED_PROXIES='127\.0\.0\.1,nginx': 'nginx' is not an IP address"
    with pytest.raises(SettingsError, match=expected):
        load_settings()


def test_the_environment_is_read_with_the_caucus_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCUS_DATABASE_URL", "postgresql://caucus@db.example/caucus")
    monkeypatch.setenv("CAUCUS_ELECTION", "ia-2020")
    monkeypatch.setenv("CAUCUS_SESSION_TTL_SECONDS", "3600")
    monkeypatch.setenv("CAUCUS_SOMETHING_ELSE", "ignored")  # e.g. CAUCUS_TEST_PG_URL of the test suite
    settings = load_settings()
    assert (settings.database_url, settings.election, settings.session_ttl_seconds) == (
        "postgresql://caucus@db.example/caucus", "ia-2020", 3600)


def test_bad_values_fail_fast_naming_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCUS_SESSION_TTL_SECONDS", "a day")
    monkeypatch.setenv("CAUCUS_MAX_BODY_BYTES", "10")
    monkeypatch.setenv("CAUCUS_DATABASE_URL", "mysql://root@localhost/caucus")
    monkeypatch.setenv("CAUCUS_ELECTION", "Iowa 2020")
    with pytest.raises(SettingsError) as failed:
        load_settings()
    message = str(failed.value)
    assert message.startswith("invalid settings: ")
    assert ("CAUCUS_DATABASE_URL='mysql://root@localhost/caucus': unsupported database 'mysql'; use sqlite:///... "
            "or postgresql://...") in message
    assert "CAUCUS_ELECTION='Iowa 2020': an election slug is 1-64 lowercase letters, digits or dashes" in message
    assert "CAUCUS_SESSION_TTL_SECONDS='a day': Input should be a valid integer" in message
    assert "CAUCUS_MAX_BODY_BYTES='10': Input should be greater than or equal to 1024" in message
    monkeypatch.delenv("CAUCUS_DATABASE_URL")
    monkeypatch.delenv("CAUCUS_ELECTION")
    monkeypatch.delenv("CAUCUS_SESSION_TTL_SECONDS")
    monkeypatch.delenv("CAUCUS_MAX_BODY_BYTES")
    with pytest.raises(SettingsError, match="CAUCUS_DATABASE_URL='not a url': not a database URL"):
        load_settings(database_url="not a url")
    with pytest.raises(SettingsError) as failed:
        load_settings(database_url="mysql://caucus:hunter2@db/caucus")
    assert "hunter2" not in str(failed.value) and "mysql://caucus:***@db/caucus" in str(failed.value)
    with pytest.raises(SettingsError, match="CAUCUS_COLOR: no such setting"):
        load_settings(color="red")


def test_create_app_reads_the_environment_and_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCUS_SESSION_TTL_SECONDS", "-1")
    with pytest.raises(SettingsError, match="CAUCUS_SESSION_TTL_SECONDS='-1'"):
        create_app()


def test_start_up_refuses_a_database_without_the_election(sqlite_database: Prepared) -> None:
    missing = create_app(Settings(database_url=sqlite_database.url, election="nv-2020"))
    with pytest.raises(ElectionNotServable, match=r"the database has no election 'nv-2020'; check CAUCUS_ELECTION"), \
            TestClient(missing):
        pass
    only = create_app(Settings(database_url=sqlite_database.url))  # the only election is served
    with TestClient(only) as client:
        assert client.get("/api/v1/health").json() == {"ok": True, "database": "reachable", "election": "ia-2020-web"}


def test_start_up_refuses_an_empty_database(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    refused = pytest.raises(ElectionNotServable, match="the database has no election to serve; create one first")
    with refused, TestClient(app):
        pass


def test_importing_the_web_app_does_no_work(tmp_path: Path) -> None:
    database = tmp_path / "never" / "caucus.db"
    code = ("import threading; import caucus.web.app, caucus.web.settings, caucus.service; "
            "print(threading.active_count())")
    env = {**subprocess_env(), "CAUCUS_DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "1"  # no writer thread
    assert not database.parent.exists()  # no engine, no database file

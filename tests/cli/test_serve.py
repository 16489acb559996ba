"""caucus serve: migrations, then uvicorn on the app factory with the settings in the environment.

These tests check the uvicorn call in-process; tests/cli/test_script.py starts the real server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from caucus.ledger import current_revision, head_revision, make_engine
from tests.cli.support import db_url, ok, run, write_example_plan


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any], dict[str, str | None]]]:
    """Record uvicorn.run calls with the settings environment at the time; restore the environment after."""
    for name in ("CAUCUS_DATABASE_URL", "CAUCUS_ELECTION", "CAUCUS_TRUSTED_PROXIES"):
        monkeypatch.setenv(name, "placeholder")  # so that monkeypatch restores the variable's absence
        monkeypatch.delenv(name)
    recorded: list[tuple[tuple[Any, ...], dict[str, Any], dict[str, str | None]]] = []

    def fake_run(*args: Any, **kwargs: Any) -> None:
        env = {name: os.environ.get(name) for name in ("CAUCUS_DATABASE_URL", "CAUCUS_ELECTION",
                                                         "CAUCUS_TRUSTED_PROXIES")}
        recorded.append((args, kwargs, env))

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return recorded


def test_serve_runs_the_app_factory_with_the_settings(tmp_path: Path, calls: list[Any]) -> None:
    url = db_url(tmp_path)
    ok("init", "ex", "--plan", write_example_plan(tmp_path / "plan"), "--database", url)
    result = ok("serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "3", "--election", "ex",
                "--database", url)
    assert "serving ex from sqlite:///" in result.stderr
    ((args, kwargs, env),) = calls
    assert args == ("caucus.web.app:create_app",)
    # uvicorn's own X-Forwarded-For handling is off: the app believes it from trusted proxies only
    assert kwargs == {"factory": True, "host": "0.0.0.0", "port": 8123, "workers": 3, "proxy_headers": False}
    assert env == {"CAUCUS_DATABASE_URL": url, "CAUCUS_ELECTION": "ex", "CAUCUS_TRUSTED_PROXIES": None}


def test_serve_migrates_first_and_makes_a_relative_sqlite_path_absolute(tmp_path: Path, calls: list[Any],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    empty = run("serve")
    assert empty.exit_code == 2
    assert empty.stderr == "error: this database has no election yet; create one first (caucus init SLUG --plan PLAN)\n"
    assert calls == []
    database = f"sqlite:///{tmp_path.resolve() / 'var' / 'caucus.db'}"
    engine = make_engine(database)
    try:
        assert current_revision(engine) == head_revision()  # migrated before anything else
    finally:
        engine.dispose()
    ok("init", "ex", "--plan", write_example_plan(tmp_path / "plan"))
    ok("serve")  # the database's only election
    ((args, kwargs, env),) = calls
    assert args == ("caucus.web.app:create_app",)
    assert kwargs == {"factory": True, "host": "127.0.0.1", "port": 8000, "workers": 1, "proxy_headers": False}
    assert env == {"CAUCUS_DATABASE_URL": database, "CAUCUS_ELECTION": "ex", "CAUCUS_TRUSTED_PROXIES": None}


def test_serve_without_election_on_a_database_of_several_lists_them(tmp_path: Path, calls: list[Any]) -> None:
    url = db_url(tmp_path)
    plan = write_example_plan(tmp_path / "plan")
    ok("init", "spring-rehearsal", "--plan", plan, "--database", url)
    ok("init", "caucus-night", "--plan", plan, "--mode", "live", "--database", url)
    result = run("serve", "--database", url)
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.stderr == ("error: this database has 2 elections: spring-rehearsal, caucus-night; choose one "
                             "with --election SLUG (or CAUCUS_ELECTION)\n")
    assert "Traceback" not in result.output and calls == []
    ok("serve", "--election", "caucus-night", "--database", url)
    assert calls[0][2]["CAUCUS_ELECTION"] == "caucus-night"


def test_serve_trusts_the_proxies_named_and_refuses_a_bad_one(tmp_path: Path, calls: list[Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUCUS_TRUSTED_PROXIES", "")  # restored (unset) after the test
    url = db_url(tmp_path)
    ok("init", "ex", "--plan", write_example_plan(tmp_path / "plan"), "--database", url)
    result = ok("serve", "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "::1", "--database", url)
    assert "X-Forwarded-For believed from 127.0.0.1,::1" in result.stderr
    ((_, _, env),) = calls
    assert env["CAUCUS_TRUSTED_PROXIES"] == "127.0.0.1,::1"
    bad = run("serve", "--trusted-proxy", "nginx.local", "--database", url)
    assert bad.exit_code == 2 and "--trusted-proxy: 'nginx.local' is not an IP address" in bad.stderr
    assert len(calls) == 1


def test_serve_refuses_an_unknown_election(tmp_path: Path, calls: list[Any]) -> None:
    result = run("serve", "--election", "nope", "--database", db_url(tmp_path))
    assert (result.exit_code, "no election with slug 'nope'" in result.stderr) == (2, True)
    assert calls == []
    assert run("serve", "--port", "0", "--database", db_url(tmp_path)).exit_code == 2

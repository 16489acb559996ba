"""``caucus staff add | list | disable`` on a real SQLite file; the account signs in through the real
StaffService; bad input exits 2 with a message naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from caucus.ledger import make_engine, sqlite_url_for_dir
from caucus.service.hq_errors import StaffSignInFailed
from caucus.service.staff import StaffService
from tests.cli.support import run


def test_staff_accounts_from_the_command_line(tmp_path: Path) -> None:
    url = sqlite_url_for_dir(tmp_path)
    secret = tmp_path / "pw.txt"
    secret.write_text("a long enough passphrase\n", encoding="utf-8")
    added = run("staff", "add", "kim", "--role", "operator", "--name", "Kim Lee", "--password-file", secret,
                "--database", url)
    assert added.exit_code == 0, added.output
    assert "added kim (operator)" in added.output and "passphrase" not in added.output
    listed = run("staff", "list", "--database", url)
    assert listed.stdout.splitlines() == ["kim\toperator\tactive\tKim Lee"]
    engine = make_engine(url)
    try:
        signed = StaffService(engine).sign_in("kim", "a long enough passphrase", "cli-test")
        assert signed.session.actor == "operator:kim"
        assert run("staff", "disable", "kim", "--database", url).exit_code == 0
        with pytest.raises(StaffSignInFailed):
            StaffService(engine).sign_in("kim", "a long enough passphrase", "cli-test")
    finally:
        engine.dispose()
    again = run("staff", "add", "kim", "--role", "operator", "--password-file", secret, "--database", url)
    assert again.exit_code == 2 and "there is already a staff account 'kim'" in again.output
    wizard = run("staff", "add", "merlin", "--role", "wizard", "--password-file", secret, "--database", url)
    assert wizard.exit_code == 2
    assert "role must be one of admin, operator, reviewer, director, observer" in wizard.output
    short = tmp_path / "short.txt"
    short.write_text("hunter2\n", encoding="utf-8")
    weak = run("staff", "add", "ann", "--role", "reviewer", "--password-file", short, "--database", url)
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output

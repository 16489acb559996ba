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
    untyped = run("staff", "add", "nell", "--role", "operator", "--database", url)  # no file, no terminal
    assert untyped.exit_code == 2 and "no password given: name a file holding it with --password-file" \
        in untyped.output, untyped.output
    short = tmp_path / "short.txt"
    short.write_text("hunter2\n", encoding="utf-8")
    weak = run("staff", "add", "ann", "--role", "reviewer", "--password-file", short, "--database", url)
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output
    for bad in ("            ", "password1234", "aaaaaaaaaaaa"):  # the three the issue saw accepted
        short.write_text(bad + "\n", encoding="utf-8")
        refused = run("staff", "add", "dora", "--role", "director", "--password-file", short, "--database", url)
        assert refused.exit_code == 2, bad


def test_staff_administration_from_the_command_line_is_audited(tmp_path: Path) -> None:
    url = sqlite_url_for_dir(tmp_path)
    first, second = tmp_path / "pw1.txt", tmp_path / "pw2.txt"
    first.write_text("a long enough passphrase\n", encoding="utf-8")
    second.write_text("copper lantern orchard\n", encoding="utf-8")
    assert run("staff", "add", "ada", "--role", "admin", "--password-file", first, "--database", url).exit_code == 0
    assert run("staff", "add", "kim", "--role", "operator", "--password-file", first, "--database", url).exit_code == 0
    role = run("staff", "role", "kim", "reviewer", "--database", url)
    assert (role.exit_code, role.stdout) == (0, "kim is now a reviewer\n")
    wizard = run("staff", "role", "kim", "wizard", "--database", url)
    assert wizard.exit_code == 2 and "role must be one of admin, operator" in wizard.stderr
    last = run("staff", "role", "ada", "observer", "--database", url)
    assert last.exit_code == 2 and "ada: it is the only active admin account" in last.stderr
    reset = run("staff", "reset-password", "kim", "--password-file", second, "--database", url)
    assert reset.exit_code == 0 and "copper" not in reset.output
    assert run("staff", "disable", "kim", "--database", url).exit_code == 0
    enable = run("staff", "enable", "kim", "--database", url)
    assert (enable.exit_code, enable.stdout) == (0, "enabled kim (reviewer)\n")
    unknown = run("staff", "enable", "nobody", "--database", url)
    assert unknown.exit_code == 2 and "there is no staff account 'nobody'" in unknown.stderr
    engine = make_engine(url)
    try:
        service = StaffService(engine)
        with pytest.raises(StaffSignInFailed):
            service.sign_in("kim", "a long enough passphrase", "198.51.100.4")
        assert service.sign_in("kim", "copper lantern orchard", "198.51.100.4").session.role == "reviewer"
    finally:
        engine.dispose()
    unlocked = run("staff", "unlock", "kim", "--database", url)
    assert unlocked.stdout == "nothing to lift: kim had no failures counting\n"
    common = tmp_path / "common.txt"
    common.write_text("password1234\n", encoding="utf-8")
    weak = run("staff", "reset-password", "kim", "--password-file", common, "--database", url)
    assert weak.exit_code == 2 and "commonly used password" in weak.stderr
    log = run("log", "--json", "--database", url)
    actions = [line for line in log.stdout.splitlines() if '"cli:' in line]
    # what was done, each once; refusals changed nothing
    assert [a.split('"action": "')[1].split('"')[0] for a in actions] == [
        "staff.add", "staff.add", "staff.role", "staff.reset-password", "staff.disable", "staff.enable",
        "throttle.lift"]

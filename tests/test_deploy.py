"""The scale-out files in deploy/ name real commands and options: every `caucus ...` command line of the
Procfile and the systemd units is parsed by the real CLI (an unknown command or option fails)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caucus.cli import app
from caucus.packaged import nginx_conf

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    procfile = (DEPLOY / "Procfile").read_text()
    for line in procfile.splitlines():
        if line.strip() and not line.startswith("#") and ": caucus " in line:
            name, command = line.split(": ", 1)
            found.append((f"Procfile {name}", shlex.split(command)[1:]))
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for match in re.finditer(r"^ExecStart=\S*/caucus (.+)$", unit.read_text(), re.M):
            found.append((unit.name, shlex.split(match.group(1))))
    return found


COMMANDS = _commands()


def _concrete(args: list[str]) -> list[str]:
    return [a.replace("%i", "8001").replace("${CAUCUS_WORKERS:-4}", "4").replace("${CAUCUS_WORKERS}", "4")
            for a in args]


def test_the_deploy_files_run_caucus() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"Procfile web", "Procfile releaser", "caucus-web@.service", "caucus-releaser.service"} <= names


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_line_parses(where: str, args: list[str]) -> None:
    result = CliRunner().invoke(app, [*_concrete(args), "--help"])
    assert result.exit_code == 0, f"{where}: caucus {' '.join(args)}: {result.output}"


def test_the_releaser_never_runs_inside_the_app_workers_of_the_scale_out() -> None:
    assert "CAUCUS_RELEASE_IN_APP=false" in (DEPLOY / "caucus.env.example").read_text().splitlines()
    for unit in (DEPLOY / "systemd").glob("*.service"):
        assert "EnvironmentFile=/etc/caucus/caucus.env" in unit.read_text(), unit.name


def test_the_app_behind_the_shipped_nginx_believes_x_forwarded_for_from_loopback_only() -> None:
    # nginx (src/caucus/deploy/nginx/caucus.conf) proxies to 127.0.0.1 and appends the client to X-Forwarded-For:
    # the app must believe that header from loopback, and from nothing else, or every chair shares one address
    nginx = nginx_conf()
    assert "server 127.0.0.1:8000;" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    serves = [args for _, args in COMMANDS if args[0] == "serve"]
    assert len(serves) == 2
    for args in serves:
        trusted = [args[i + 1] for i, a in enumerate(args) if a == "--trusted-proxy"]
        assert trusted == ["127.0.0.1", "::1"], args


def test_every_unit_creates_private_files() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert len(units) == 2
    for unit in units:
        assert "UMask=0077" in unit.read_text().splitlines(), unit.name

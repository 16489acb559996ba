"""``caucus staff add | list | disable``: headquarters staff accounts (docs/hq.md).

Passwords are hashed with argon2id (argon2-cffi) and never printed. ``add`` reads the password from
``--password-file`` (first line; ``-`` for standard input) or prompts for it twice.

Exit codes: 0 done; 2 bad usage (an invalid username, role or password, an account that exists or does
not exist, an unreadable password file).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from caucus.cli.common import fail, out
from caucus.cli.election_cmd import DEFAULT_DATABASE, Database, actor, opened

staff_app = typer.Typer(help="Headquarters staff accounts: add, list, disable.", no_args_is_help=True)
ROLES_HELP = "admin, operator (hotline), reviewer, director (results director) or observer (read-only)"


def _password(password_file: Path | None) -> str:
    if password_file is None:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        text = sys.stdin.read() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the password file {password_file}: {exc}")
    lines = text.splitlines()
    return lines[0] if lines else ""


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lowercase login name, e.g. kim.")],
    role: Annotated[str, typer.Option(help=ROLES_HELP)],
    name: Annotated[str, typer.Option(help="The person's name as shown on HQ pages.")] = "",
    password_file: Annotated[Path | None, typer.Option(help="Read the password from this file's first line "
                                                            "('-': standard input) instead of prompting.")] = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Create a staff account."""
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.staff import StaffService  # noqa: PLC0415

    password = _password(password_file)
    with opened(database) as engine:
        try:
            user = StaffService(engine).add_user(username, name, role, password, actor=actor())
        except ServiceError as error:
            fail(error.message)
    out.print(f"added {escape(user.username)} ({user.role})", highlight=False)


@staff_app.command("list")
def list_users(database: Database = DEFAULT_DATABASE) -> None:
    """List staff accounts: username, role, status, name (tab-separated)."""
    from caucus.service.staff import StaffService  # noqa: PLC0415

    with opened(database) as engine:
        for user in StaffService(engine).list_users():
            out.print(escape(f"{user.username}\t{user.role}\t{user.status}\t{user.display_name}"), highlight=False)


@staff_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="The account to disable (its sessions end at once).")],
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Disable a staff account."""
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.staff import StaffService  # noqa: PLC0415

    with opened(database) as engine:
        try:
            user = StaffService(engine).disable_user(username, actor=actor())
        except ServiceError as error:
            fail(error.message)
    out.print(f"disabled {escape(user.username)}", highlight=False)

"""``caucus staff add | list | disable | enable | reset-password | role | unlock``: headquarters staff
accounts (docs/hq.md). The same actions are on HQ's Staff page for admins; every one is audited (``caucus log``).

Passwords are hashed with argon2id (argon2-cffi) and never printed. ``add`` and ``reset-password`` read the
password from ``--password-file`` (first line; ``-`` for standard input) or prompt for it twice. A password
has at least 12 characters and is not easy to guess (:mod:`caucus.service.passwords`: zxcvbn).

Exit codes: 0 done; 2 bad usage (an invalid username, role or password, an account that exists or does
not exist, the last active admin, an unreadable password file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape

from caucus.cli.common import fail, out
from caucus.cli.election_cmd import DEFAULT_DATABASE, Database, ElectionOpt, actor, choose_election, opened

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from caucus.service.staff import StaffService

T = TypeVar("T")

staff_app = typer.Typer(help="Headquarters staff accounts: add, list, disable, enable, reset-password, role, unlock.",
                        no_args_is_help=True)
ROLES_HELP = ("admin, operator (hotline), reviewer, director (results director), observer (read-only) or campaign "
              "(one preference group's campaign: --campaign)")
CAMPAIGN_HELP = "For --role campaign: the preference group (candidate) whose campaign the account is."


def _password(password_file: Path | None) -> str:
    if password_file is None:
        if not sys.stdin.isatty():
            fail("no password given: name a file holding it with --password-file FILE ('-' reads standard "
                 "input), or run the command in a terminal to type it")
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        text = sys.stdin.read() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the password file {password_file}: {exc}")
    lines = text.splitlines()
    return lines[0] if lines else ""


def _staff(engine: Engine, role: str, election: str | None) -> StaffService:
    """The staff service; for a campaign account, knowing the election's preference groups."""
    from caucus.service import load_context  # noqa: PLC0415
    from caucus.service.staff import StaffService  # noqa: PLC0415

    if role != "campaign":
        return StaffService(engine)
    return StaffService(engine, groups=load_context(engine, choose_election(engine, election)).candidates)


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lowercase login name, e.g. kim.")],
    role: Annotated[str, typer.Option(help=ROLES_HELP)],
    name: Annotated[str, typer.Option(help="The person's name as shown on HQ pages.")] = "",
    campaign: Annotated[str, typer.Option(help=CAMPAIGN_HELP)] = "",
    password_file: Annotated[Path | None, typer.Option(help="Read the password from this file's first line "
                                                            "('-': standard input) instead of prompting.")] = None,
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Create a staff account."""
    from caucus.service import ServiceError  # noqa: PLC0415

    password = _password(password_file)
    with opened(database, create=True) as engine:
        try:
            user = _staff(engine, role, election).add_user(username, name, role, password, actor=actor(),
                                                           campaign=campaign or None)
        except ServiceError as error:
            fail(error.message)
    scope = f": {escape(user.campaign)}" if user.campaign else ""
    out.print(f"added {escape(user.username)} ({user.role}{scope})", highlight=False)


@staff_app.command("list")
def list_users(database: Database = DEFAULT_DATABASE) -> None:
    """List staff accounts: username, role (a campaign's with its group: campaign:Sanders), status, name
    (tab-separated)."""
    from caucus.service.staff import StaffService  # noqa: PLC0415

    with opened(database) as engine:
        for user in StaffService(engine).list_users():
            role = f"{user.role}:{user.campaign}" if user.campaign else user.role
            typer.echo(f"{user.username}\t{role}\t{user.status}\t{user.display_name}")


def _do(database: str, action: Callable[[StaffService], T]) -> T:
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.staff import StaffService  # noqa: PLC0415

    with opened(database) as engine:
        try:
            return action(StaffService(engine))
        except ServiceError as error:
            fail(error.message)


Username = Annotated[str, typer.Argument(help="The account's username.")]


@staff_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="The account to disable (its sessions end at once).")],
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Disable a staff account."""
    user = _do(database, lambda staff: staff.disable_user(username, actor=actor()))
    out.print(f"disabled {escape(user.username)}", highlight=False)


@staff_app.command("enable")
def enable(username: Username, database: Database = DEFAULT_DATABASE) -> None:
    """Enable a disabled staff account again."""
    user = _do(database, lambda staff: staff.enable_user(username, actor=actor()))
    out.print(f"enabled {escape(user.username)} ({user.role})", highlight=False)


@staff_app.command("reset-password")
def reset_password(
    username: Username,
    password_file: Annotated[Path | None, typer.Option(help="Read the new password from this file's first line "
                                                            "('-': standard input) instead of prompting.")] = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Give a staff account a new password (its open sessions end)."""
    password = _password(password_file)
    user = _do(database, lambda staff: staff.reset_password(username, password, actor=actor()))
    out.print(f"new password set for {escape(user.username)}; their sessions have ended", highlight=False)


@staff_app.command("role")
def role(
    username: Username,
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help=ROLES_HELP)],
    campaign: Annotated[str, typer.Option(help=CAMPAIGN_HELP)] = "",
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Change a staff account's role."""
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.staff import role_phrase  # noqa: PLC0415

    with opened(database) as engine:
        try:
            user = _staff(engine, new_role, election).change_role(username, new_role, actor=actor(),
                                                                   campaign=campaign or None)
        except ServiceError as error:
            fail(error.message)
    out.print(f"{escape(user.username)} is now {escape(role_phrase(user.role, user.campaign))}", highlight=False)


@staff_app.command("unlock")
def unlock(
    username: Username,
    client: Annotated[str, typer.Option(help="Only the failures from this network address (default: every "
                                             "address).")] = "",
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Lift the sign-in throttle of a staff account (HQ: Throttles page)."""
    cleared = _do(database, lambda staff: staff.lift_throttle(username, client, actor=actor()))
    where = f" from {client}" if client else ""
    out.print(f"lifted: {cleared} failed sign-in{'' if cleared == 1 else 's'} of {escape(username)}{where} no "
              "longer count" if cleared else f"nothing to lift: {escape(username)}{where} had no failures counting",
              highlight=False)

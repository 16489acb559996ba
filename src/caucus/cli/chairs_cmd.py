"""``caucus chairs import | list | set | remove``: the chair roster (docs/hq.md), for HQ only.

``import`` reads a CSV whose first line names the columns ``precinct,name,phone,email`` (email optional);
precinct codes are matched as people type them. A file with any bad line changes nothing, and every problem
is printed with its line number, the column and the rule. Every change is audited (``caucus log``).

Exit codes: 0 done; 2 bad usage (a bad roster file or field, an unknown precinct or election, several
elections and no ``--election``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from caucus.cli.common import fail, out
from caucus.cli.election_cmd import DEFAULT_DATABASE, Database, ElectionOpt, actor, choose_election, opened

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from caucus.service.roster import RosterService

chairs_app = typer.Typer(help="The chair roster (HQ only, never published): import, list, set, remove.",
                         no_args_is_help=True)


def _roster(engine: Engine, election: str | None) -> RosterService:
    from caucus.service import ServiceError, load_context  # noqa: PLC0415
    from caucus.service.roster import RosterService  # noqa: PLC0415

    slug = choose_election(engine, election)
    try:
        return RosterService(engine, load_context(engine, slug))
    except ServiceError as error:
        fail(error.message)


@chairs_app.command("import")
def import_roster(
    roster: Annotated[Path, typer.Argument(help="The roster CSV: precinct,name,phone,email (email optional).")],
    replace: Annotated[bool, typer.Option(help="Also take off the roster the precincts the file does not "
                                               "list.")] = False,
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Register the chairs of a roster file (all or nothing)."""
    from caucus.service import ServiceError  # noqa: PLC0415

    try:
        data = roster.read_bytes()
    except OSError as exc:
        fail(f"cannot read the roster file {roster}: {exc.strerror or exc}")
    with opened(database) as engine:
        service = _roster(engine, election)
        try:
            summary = service.import_file(data, actor=actor(), source=roster.name, replace=replace)
        except ServiceError as error:
            fail(escape(error.message))
    out.print(f"imported {escape(roster.name)} into {escape(service.context.slug)}: {escape(summary.describe())}",
              highlight=False)


@chairs_app.command("list")
def list_chairs(election: ElectionOpt = None, database: Database = DEFAULT_DATABASE) -> None:
    """Every registered chair: precinct, name, phone, email (tab-separated)."""
    with opened(database) as engine:
        for chair in _roster(engine, election).roster().values():
            typer.echo(f"{chair.code}\t{chair.name}\t{chair.phone}\t{chair.email}")


@chairs_app.command("set")
def set_chair(
    precinct: Annotated[str, typer.Argument(help="The precinct code, e.g. Adair/01NW.")],
    name: Annotated[str, typer.Option(help="The chair's name.")],
    phone: Annotated[str, typer.Option(help="The chair's phone number.")],
    email: Annotated[str, typer.Option(help="The chair's email (optional).")] = "",
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Register or change one precinct's chair."""
    from caucus.service import ServiceError  # noqa: PLC0415

    with opened(database) as engine:
        try:
            chair = _roster(engine, election).save(precinct, name, phone, email, actor=actor())
        except ServiceError as error:
            fail(escape(error.message))
    out.print(f"{escape(chair.code)}: {escape(chair.name)}, {escape(chair.phone)}", highlight=False)


@chairs_app.command("remove")
def remove_chair(
    precinct: Annotated[str, typer.Argument(help="The precinct code.")],
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Take a precinct's chair off the roster."""
    from caucus.service import ServiceError  # noqa: PLC0415

    with opened(database) as engine:
        try:
            removed = _roster(engine, election).remove(precinct, actor=actor())
        except ServiceError as error:
            fail(escape(error.message))
    out.print(f"removed the chair of {escape(precinct)}" if removed else f"{escape(precinct)} had no chair on the "
              "roster", highlight=False)

"""``caucus early-ballots import | list``: Nevada's early ranked ballots (docs/early-ballots.md).

``import`` reads the party's early-vote export as a CSV whose first line names the columns
``county,precinct,ballot_id,rank1,rank2,rank3,rank4,rank5`` (rank4 and rank5 optional). A file with any bad
line changes nothing, and every problem is printed with its line number, the column and the rule. Ballots
with fewer than 3 different preferences are imported as void (NV-2). A precinct that has reported anything
takes no more early ballots. Every import is audited (``caucus log``).

Exit codes: 0 done; 2 bad usage (a bad file or line, an unknown election, a precinct that has reported, an
election whose rule set has no early ballots).
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

    from caucus.service.early_ballots import EarlyBallotService

early_app = typer.Typer(help="Nevada's early ranked ballots: import the party's export before the night, list them.",
                        no_args_is_help=True)


def _service(engine: Engine, election: str | None) -> EarlyBallotService:
    from caucus.service import ServiceError, load_context  # noqa: PLC0415
    from caucus.service.early_ballots import EarlyBallotService  # noqa: PLC0415

    slug = choose_election(engine, election)
    try:
        return EarlyBallotService(engine, load_context(engine, slug))
    except ServiceError as error:
        fail(error.message)


@early_app.command("import")
def import_ballots(
    export: Annotated[Path, typer.Argument(help="The early-vote export: county,precinct,ballot_id,rank1..rank5.")],
    election: ElectionOpt = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Import the early ballots of an export (all or nothing), before the precincts report."""
    from caucus.service import ServiceError  # noqa: PLC0415

    try:
        data = export.read_bytes()
    except OSError as exc:
        fail(f"cannot read the early-ballot file {export}: {exc.strerror or exc}")
    with opened(database) as engine:
        service = _service(engine, election)
        try:
            summary = service.import_file(data, actor=actor(), source=export.name)
        except ServiceError as error:
            fail(escape(error.message))
    out.print(f"imported {escape(export.name)} into {escape(service.context.slug)}: {escape(summary.describe())}",
              highlight=False)


@early_app.command("list")
def list_ballots(election: ElectionOpt = None, database: Database = DEFAULT_DATABASE) -> None:
    """Early ballots per precinct: code, valid, void (tab-separated)."""
    with opened(database) as engine:
        for code, (valid, void) in sorted(_service(engine, election).counts().items()):
            typer.echo(f"{code}\t{valid}\t{void}")

"""``caucus state rebuild SLUG`` and ``caucus state check SLUG``: each precinct's maintained status
(``precinct_status``, :mod:`caucus.service.maintained`) against the ledger.

``check`` derives every precinct's status from the ledger and compares it with its row: exit 1 naming the first
precinct whose row differs (and how), 0 if every row is right (rows left stale by a writer without the service's
keeper are derived on read, so they are counted, not failed). ``rebuild`` rewrites every row from the ledger.
``caucus verify`` runs the same check for every election.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import Engine

from caucus.cli.common import fail, out
from caucus.cli.election_cmd import (
    DEFAULT_DATABASE,
    EXIT_FAILED,
    Database,
    choose_election,
    ledger_errors,
    opened,
)

state_app = typer.Typer(help="Each precinct's maintained status: check it against the ledger, or rebuild it.",
                        no_args_is_help=True)

Slug = Annotated[str | None, typer.Argument(help="The election (default: the database's only one).")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document.")]


def _context(engine: Engine, slug: str):  # type: ignore[no-untyped-def]
    from caucus.service import ElectionNotServable, load_context  # noqa: PLC0415

    try:
        return load_context(engine, slug)
    except ElectionNotServable as exc:
        fail(exc.message)


def check_election(engine: Engine, slug: str) -> tuple[bool, str, dict[str, object]]:
    """(ok, one line, JSON fields) of the check of ``slug``'s rows; an election whose plan cannot be loaded is
    not checked (ok, said so)."""
    from caucus.service import ElectionNotServable, load_context  # noqa: PLC0415
    from caucus.service.maintained import check  # noqa: PLC0415

    try:
        context = load_context(engine, slug)
    except ElectionNotServable as exc:
        return True, f"{slug}: precinct status not checked: {exc.message}", {"election": slug, "checked": False}
    result = check(engine, context)
    fields: dict[str, object] = {"election": slug, "checked": True, "ok": result.ok, "precincts": result.precincts,
                                 "rows": result.rows, "stale": result.stale, "differing": len(result.differences)}
    if result.ok:
        line = (f"{slug}: precinct status OK, {result.rows:,} rows for {result.precincts:,} precincts equal the "
                f"ledger" + (f" ({result.stale:,} stale, derived on read)" if result.stale else ""))
    else:
        code, what = result.differences[0]
        fields["first"] = {"precinct": code, "difference": what}
        line = (f"{slug}: precinct status DIFFERS from the ledger at precinct {code}: {what} "
                f"({len(result.differences):,} precincts differ; `caucus state rebuild {slug}` rewrites them)")
    return result.ok, line, fields


def check_command(slug: Slug = None, as_json: AsJson = False, database: Database = DEFAULT_DATABASE) -> None:
    """Compare every precinct's maintained status with the status derived from the ledger now: exit 1 naming the
    first precinct that differs."""
    with opened(database) as engine, ledger_errors():
        slug = choose_election(engine, slug)  # unknown: say which elections the database has
        _context(engine, slug)
        ok, line, fields = check_election(engine, slug)
    if as_json:
        out.print_json(json.dumps({"schema": "caucus.state-check/1", **fields}), indent=1)
    else:
        out.print(line, highlight=False, markup=False)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def rebuild_command(slug: Slug = None, database: Database = DEFAULT_DATABASE) -> None:
    """Rewrite every precinct's maintained status from the ledger (in one transaction, while the server may run)."""
    from caucus.service.maintained import StatusKeeper  # noqa: PLC0415

    with opened(database) as engine, ledger_errors():
        slug = choose_election(engine, slug)
        rows = StatusKeeper(_context(engine, slug)).rebuild(engine)
    out.print(f"{slug}: precinct status rebuilt from the ledger, {rows:,} precincts with entries that count",
              highlight=False, markup=False)


state_app.command("check")(check_command)
state_app.command("rebuild")(rebuild_command)

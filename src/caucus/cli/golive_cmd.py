"""``caucus election go-live SLUG`` and ``caucus election reset-rehearsal SLUG``: from the rehearsal to the
live night without reprinting a card (docs/operations.md, "Rehearse, reset, go live").

Both ask to type the election's name (or take ``--yes``), take ``--database`` and ``--snapshots`` like
``caucus release``, and print what was set aside. Exit codes: 0 done; 2 refused (the election is already
live, a reset of a live election, the confirmation does not match, unknown election).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from caucus.cli.common import err, fail, out
from caucus.cli.election_cmd import DEFAULT_DATABASE, Database, actor, choose_election, opened
from caucus.cli.release_cmd import Snapshots, _service

election_app = typer.Typer(help="An election's mode: rehearse in test mode, reset, then go live.",
                           no_args_is_help=True)

Yes = Annotated[bool, typer.Option("--yes", help="Do not ask to type the election's name.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document.")]


def _change(action: str, slug: str, *, yes: bool, as_json: bool, snapshots: Path | None, database: str) -> None:
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.golive import ElectionModeService  # noqa: PLC0415

    with opened(database) as engine:
        choose_election(engine, slug)  # unknown: say which elections the database has
        releases = _service(engine, slug, snapshots, database)
        service = ElectionModeService(engine, releases.context, releases)
        before = service.summary()
        what = "go live" if action == "go-live" else "reset the rehearsal"
        if before.epoch.live:
            confirm = slug  # refused below with the reason, whatever is typed
        elif yes:
            confirm = slug
        else:
            err.print(f"election {slug} is in test mode: {before.entries_counting:,} ledger entries count now, "
                      f"{before.releases_current} releases are current, {before.credentials_active:,} cards are "
                      f"active.\nTo {what}, type the election's name:", highlight=False, markup=False)
            confirm = typer.prompt("", prompt_suffix="> ", default="", show_default=False)
        try:
            epoch = service.go_live(actor(), confirm=confirm) if action == "go-live" else \
                service.reset_rehearsal(actor(), confirm=confirm)
        except ServiceError as exc:
            fail(exc.message)
    fields = {"election": slug, "action": action, "mode": epoch.mode, "epoch": epoch.number,
              "entries_set_aside": before.entries_counting, "counts_after_seq": epoch.counts_after_seq,
              "releases_archived_through": epoch.releases_through,
              "first_release_of_epoch": epoch.releases_through + 1, "cards_active": before.credentials_active}
    if as_json:
        out.print(json.dumps(fields), highlight=False, markup=False)
        return
    head = f"election {slug} is LIVE" if action == "go-live" else f"election {slug}: rehearsal reset (test mode)"
    out.print(f"{head}: {before.entries_counting:,} rehearsal entries (up to #{epoch.counts_after_seq}) stay in "
              f"the ledger and never count; releases up to {epoch.releases_through} archived; the public site "
              f"and feed show no results until release {epoch.releases_through + 1}; "
              f"{before.credentials_active:,} cards keep working (chairs sign in again); continuous release is "
              "off", highlight=False, markup=False)


@election_app.command("go-live")
def go_live(
    slug: Annotated[str, typer.Argument(help="The election to switch from test to live mode.")],
    yes: Yes = False,
    as_json: AsJson = False,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Switch the election from test to live (once). Cards, staff and plan are kept; the rehearsal's entries
    stay in the ledger but never count or publish; its releases are archived; the public site starts empty."""
    _change("go-live", slug, yes=yes, as_json=as_json, snapshots=snapshots, database=database)


@election_app.command("reset-rehearsal")
def reset_rehearsal(
    slug: Annotated[str, typer.Argument(help="The election (in test mode) to reset for another rehearsal.")],
    yes: Yes = False,
    as_json: AsJson = False,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Set the rehearsal's entries, decisions, photos and releases aside (kept, never counted) for another
    rehearsal; the election stays in test mode. Refused for a live election."""
    _change("reset-rehearsal", slug, yes=yes, as_json=as_json, snapshots=snapshots, database=database)

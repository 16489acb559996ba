"""The ``caucus`` command line: data to stdout, messages to stderr, documented exit codes.

Files the commands create are private (umask 0077: files 0600, directories 0700), except the published
snapshot files, which the snapshot store makes world-readable (caucus.publish.store).

Exit codes: 0 the command ran; 1 ``--fail-on-inconsistent`` and inconsistent precincts were found;
2 bad usage or a bad input file (the message names the file, line and rule).
"""

from __future__ import annotations

import os

import typer

from caucus.cli import (
    audit_cmd,
    chairs_cmd,
    demo_cmd,
    early_cmd,
    election_cmd,
    golive_cmd,
    rehearse_cmd,
    release_cmd,
    staff_cmd,
    state_cmd,
    tabulate_cmd,
)

app = typer.Typer(
    name="caucus",
    help="Caucus-night results reporting that adds up.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("audit")(audit_cmd.audit)
app.command("tabulate")(tabulate_cmd.tabulate)
app.command("plans")(tabulate_cmd.plans)
app.command("rehearse")(rehearse_cmd.rehearse_command)
app.command("demo")(demo_cmd.demo)
election_cmd.register(app)
release_cmd.register(app)
app.add_typer(staff_cmd.staff_app, name="staff")
app.add_typer(state_cmd.state_app, name="state")
app.add_typer(chairs_cmd.chairs_app, name="chairs")
app.add_typer(early_cmd.early_app, name="early-ballots")
app.add_typer(golive_cmd.election_app, name="election")


def main() -> None:
    """Entry point of the ``caucus`` script: files it creates are private (database, logs, credential files,
    staging directories), and so are those of the server processes it starts."""
    os.umask(0o077)
    app()

"""``caucus rehearse``: a whole caucus night played against a real server, with load and faults."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from caucus.cli.common import fail
from caucus.rehearse.night import Behaviour, Timeline
from caucus.rehearse.report import print_summary, summary, to_html, to_json
from caucus.rehearse.run import Outcome, Progress, Rehearsal, rehearse
from caucus.rehearse.server import REHEARSAL_COST, SYNTHETIC_COST
from caucus.rehearse.synthetic import synthetic_truth
from caucus.rehearse.truth import CERTIFIED, GroundTruth, truth_from_results
from caucus.rehearse.view import render


def _shares(values: str) -> tuple[float, ...]:
    try:
        shares = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        fail(f"--kill-at/--pg-restart-at take shares of the night such as 0.4,0.7; got {values!r}")
    if any(not 0 <= s <= 1 for s in shares):
        fail(f"shares of the night must be between 0 and 1; got {values!r}")
    return shares


def _slow(value: str | None) -> tuple[float, float, float] | None:
    if not value:
        return None
    try:
        begin, end, delay = (float(v) for v in value.split(":"))
    except ValueError:
        fail(f"--slow takes FROM:TO:DELAY (shares of the night and seconds), e.g. 0.5:0.6:0.3; got {value!r}")
    if not 0 <= begin < end <= 1 or delay <= 0:
        fail(f"--slow {value!r}: need 0 <= FROM < TO <= 1 and DELAY > 0")
    return begin, end, delay


#: the certified results replayed for each bundled plan when --results is not given (Nevada's is read from
#: the source checkout's data/: it is not shipped in the wheel)
DEFAULT_RESULTS = {"iowa-2020": CERTIFIED,
                   "nevada-2020": Path(__file__).resolve().parents[3] / "data" / "nevada2020" / "results-final.csv"}


def build_truth(synthetic: int | None, results: Path | None, limit: int | None, seed: int, directory: Path,
                plan: str = "iowa-2020") -> GroundTruth:
    if synthetic is not None:
        if plan != "iowa-2020":
            fail("--synthetic plays a generated Iowa-rules state; it cannot be combined with --plan")
        return synthetic_truth(directory / "plan", synthetic, seed, play=limit)
    if results is None:
        if plan not in DEFAULT_RESULTS:
            fail(f"no certified results known for plan {plan!r}: give --results (known: {', '.join(DEFAULT_RESULTS)})")
        results = DEFAULT_RESULTS[plan]
    if not results.exists():
        fail(f"no results file at {results}")
    try:
        return truth_from_results(results, plan_name=plan, limit=limit, early_seed=seed)
    except (ValueError, KeyError) as error:
        fail(f"cannot replay {results} with plan {plan}: {error}")


def rehearse_command(
    synthetic: Annotated[int | None, typer.Option(help="Play a synthetic state of this many precincts "
                                                       "instead of real results.", min=7)] = None,
    results: Annotated[Path | None, typer.Option(help="The published results to replay (the party's long CSV, or "
                                                     "Nevada's layout); default: the plan's certified results.")]
    = None,
    plan: Annotated[str, typer.Option(help="The bundled plan to replay: iowa-2020 or nevada-2020 (Nevada: early "
                                           "ballots are imported before the night, docs/early-ballots.md).")]
    = "iowa-2020",
    limit: Annotated[int | None, typer.Option(help="Play only the first N units of the results (with --synthetic: "
                                                   "N units of the state, spread over its counties; the rest "
                                                   "stay unreported).", min=1)] = None,
    engine: Annotated[str, typer.Option(help="sqlite or postgres (a throwaway local cluster, or --pg-url).")]
    = "sqlite",
    pg_url: Annotated[str | None, typer.Option(help="An existing PostgreSQL server to use.")] = None,
    workers: Annotated[int, typer.Option(help="App worker processes.", min=1, max=16)] = 1,
    night: Annotated[float, typer.Option(help="Seconds the night is compressed into.", min=1)] = 60.0,
    kill_at: Annotated[str, typer.Option(help="SIGKILL and restart the server at these shares of the night, "
                                              "e.g. 0.4,0.7.")] = "",
    pg_restart_at: Annotated[str, typer.Option(help="Restart PostgreSQL at these shares of the night.")] = "",
    slow: Annotated[str | None, typer.Option(help="Slow responses FROM:TO:DELAY, e.g. 0.5:0.6:0.3.")] = None,
    hotline: Annotated[float, typer.Option(help="Share of precincts that report by the hotline.", min=0, max=1)]
    = 0.0,
    both: Annotated[float, typer.Option(help="Share of precincts that report on the app and the hotline "
                                              "(needs --hotline > 0 or is played alone).", min=0, max=1)] = 0.0,
    move: Annotated[float, typer.Option(help="Share of chairs who miscount the final alignment and correct it "
                                              "with the delegates.", min=0, max=1)] = 0.0,
    go_live: Annotated[int, typer.Option(help="Chairs who rehearse before the night (a test release), then "
                                              "the election goes live (0: no rehearsal, the night in test "
                                              "mode).", min=0)] = 0,
    recanvass: Annotated[int, typer.Option(help="Precincts whose miscount is published, then corrected by a "
                                                "campaign's recanvass at HQ.", min=0)] = 0,
    phone_ties: Annotated[int, typer.Option(help="Precincts with a game of chance that phone it in.", min=0)]
    = 0,
    attack: Annotated[int, typer.Option(help="Wrong sign-ins an attacker floods during the night (0: none).",
                                        min=0, max=100_000)] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic state and of the chairs' behaviour.")] = 2020,
    connections: Annotated[int, typer.Option(help="Concurrent client connections.", min=1)] = 64,
    directory: Annotated[Path | None, typer.Option("--dir", help="Where the database, snapshots and reports "
                                                                 "go (default: a new temporary directory).")]
    = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the report as an HTML page here.")]
    = None,
    live: Annotated[bool, typer.Option(help="Show the live view.")] = True,
    nginx: Annotated[bool, typer.Option(help="Put nginx (the shipped caucus/deploy/nginx/caucus.conf) in "
                                              "front: clients go through it and it serves the snapshots "
                                              "itself.")] = False,
    publish_timeout: Annotated[float, typer.Option(help="Seconds to wait, after the last report, for every "
                                                        "unit to be published.", min=1)] = 180.0,
    release_interval: Annotated[float, typer.Option(help="Seconds between the releaser's looks for new "
                                                         "results (CAUCUS_RELEASE_INTERVAL_SECONDS).",
                                                    min=0.1)] = 2.0,
    bulk_interval: Annotated[float, typer.Option(help="The server's CAUCUS_BULK_INTERVAL: seconds between "
                                                      "rebuilds of the whole-state files (docs/feed.md); a "
                                                      "national-size night wants the production 30 or more.",
                                                 min=0)] = 5.0,
) -> None:
    """Replay a whole caucus night against a real server through its HTTP API, with faults; report lost and
    duplicated reports (both must be 0), latency, and whether the published totals equal the ground truth.
    Exit code 0 if everything holds, 1 if not, 2 on bad arguments."""
    if engine not in ("sqlite", "postgres"):
        fail(f"--engine must be sqlite or postgres, got {engine!r}")
    directory = directory or Path(tempfile.mkdtemp(prefix="caucus-rehearsal-"))
    truth = build_truth(synthetic, results, limit, seed, directory, plan)
    config = Rehearsal(truth=truth, directory=directory, engine=engine,  # type: ignore[arg-type]
                       workers=workers, timeline=Timeline(night),
                       behaviour=Behaviour(hotline=hotline, both=both, move=move, recanvass=recanvass,
                                           phone_ties=phone_ties), attack=attack, go_live=go_live,
                       kills=_shares(kill_at), pg_restarts=_shares(pg_restart_at), slow=_slow(slow), seed=seed,
                       connections=connections, pg_url=pg_url,
                       # a synthetic state issues every unit's card, with the cheaper synthetic hash cost
                       all_cards=synthetic is not None, card_cost=SYNTHETIC_COST if synthetic else REHEARSAL_COST,
                       publish_timeout=publish_timeout, nginx=nginx, release_interval=release_interval,
                       bulk_interval=bulk_interval)
    console = Console(stderr=True)
    console.print(f"rehearsal in {directory}: {len(truth.precincts):,} units from {truth.source}")
    if truth.early is not None:
        console.print(f"early ballots: {truth.early.ballots:,} ({truth.early.void:,} void) for "
                      f"{truth.early.precincts:,} precincts; without: {truth.early.without or 'none'}")
    outcome = _run(config, console, live)
    report = summary(outcome)
    print_summary(report, console)
    for path, text in ((json_out, to_json(report)), (html_out, to_html(report, outcome.tally.latencies()))):
        if path is not None:
            path.write_text(text)
            console.print(f"wrote {path}")
    raise typer.Exit(0 if outcome.ok else 1)


def _run(config: Rehearsal, console: Console, live: bool) -> Outcome:
    if not live or not console.is_terminal:
        return rehearse(config)
    with Live(console=console, refresh_per_second=4, transient=False) as view:
        def update(progress: Progress) -> None:
            view.update(render(progress))

        return rehearse(config, on_progress=update)

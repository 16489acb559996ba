"""``caucus release`` (now, --zero, certify, list, continuous on|off) and ``caucus verify-release``.

``release`` commands take ``--database URL`` and ``--snapshots DIR`` (default: ``$CAUCUS_SNAPSHOT_DIR``,
else a ``snapshots`` directory beside the SQLite database, else ``./var/snapshots``; the election's files go
to ``DIR/<election>/``), and the election (default: the only one). Exit codes: 0 done; 2 bad usage (unknown
election, empty certifying act, bad database URL, ``release now`` with nothing changed since the latest
release and no ``--even-if-unchanged``).

``verify-release URL|DIR`` checks a published release from its files alone (``--expect-manifest SHA256``:
and that its manifest is the one recorded when it was published). Exit codes: 0 every hash, every
precinct's delegates and SDEs, and every total check out; 1 a check failed (each problem is printed; a
manifest that is not the expected one is a failure); 2 the release cannot be read (no manifest, no such
directory, the server does not answer) or ``--expect-manifest`` is not a SHA-256.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from caucus.cli.common import EXIT_BAD_INPUT, err, fail, out
from caucus.cli.election_cmd import DEFAULT_DATABASE, Database, choose_election, opened
from caucus.cli.election_cmd import actor as login_actor

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from caucus.plans.settings import PlanSettings
    from caucus.service.releases import ReleaseRecord, ReleaseService

EXIT_FAILED = 1

release_app = typer.Typer(help="Release accepted results to the public (immutable numbered snapshots).",
                          no_args_is_help=True)

Snapshots = Annotated[Path | None, typer.Option(
    "--snapshots", envvar="CAUCUS_SNAPSHOT_DIR", metavar="DIR",
    help="The snapshot directory (the election's files go to DIR/<election>/).")]
ElectionOpt = Annotated[str | None, typer.Option("--election", help="The election; default: the only one.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who releases (recorded; default cli:<login name>, as "
                                                            "every command records its user).")]


class Switch(StrEnum):
    on = "on"
    off = "off"


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
    app.command("verify-release")(verify_release)


def _service(engine: Engine, election: str | None, snapshots: Path | None, database: str) -> ReleaseService:
    """The election's ReleaseService (the same class, photos included, as the server's)."""
    from caucus.service import ServiceError, load_context  # noqa: PLC0415
    from caucus.service.releases import ReleaseService  # noqa: PLC0415
    from caucus.web.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        context = load_context(engine, choose_election(engine, election))
        settings = load_settings(database_url=database)  # CAUCUS_BULK_INTERVAL, CAUCUS_SNAPSHOT_DIR
    except ServiceError as exc:
        fail(exc.message)
    except SettingsError as exc:
        fail(str(exc))
    root = snapshots if snapshots is not None else settings.snapshots
    return ReleaseService(engine, context, root / context.slug, bulk_interval=settings.bulk_interval)


def _show(record: ReleaseRecord, as_json: bool, settings: PlanSettings) -> None:
    fields = {
        "number": record.number, "created_at": record.created_at.isoformat(), "actor": record.actor,
        "status": record.status, "test": record.test, "zero": record.zero, "content_hash": record.content_hash,
        "precincts_reporting": record.precincts_reporting, "precincts_total": record.precincts_total,
        "note": record.note, "certified_act": record.certified_act, "correction_of": record.correction_of,
        "archived": record.archived,
    }
    if as_json:
        out.print(json.dumps(fields), highlight=False, markup=False)
        return
    flags = "".join([" TEST" if record.test else "", " ZERO" if record.zero else "",
                     f" CORRECTS {record.correction_of}" if record.correction_of else "",
                     " ARCHIVED" if record.archived else ""])
    out.print(f"release {record.number} ({record.status}{flags}) {settings.moment(record.created_at)} by "
              f"{record.actor}: {record.precincts_reporting} of {record.precincts_total} precincts, manifest sha256 "
              f"{record.content_hash}", highlight=False, markup=False)


def _run(action: str, *, database: str, election: str | None, snapshots: Path | None, actor: str | None,
         as_json: bool, **options: object) -> None:
    from caucus.service import ServiceError  # noqa: PLC0415
    from caucus.service.releases import NothingToRelease  # noqa: PLC0415

    actor = actor or login_actor()

    with opened(database) as engine:
        service = _service(engine, election, snapshots, database)
        try:
            if action == "certify":
                record = service.certify(actor=actor, act=str(options["act"]),
                                         acknowledge=options.get("acknowledge") or (),  # type: ignore[arg-type]
                                         counts=options.get("counts"))  # type: ignore[arg-type]
            else:
                record = service.release(actor=actor, zero=bool(options.get("zero")), note=str(options["note"]),
                                         even_if_unchanged=bool(options.get("even_if_unchanged")))
        except NothingToRelease as exc:
            fail(f"{exc.message}; to publish release {service.list()[0].number + 1} anyway pass "
                 "--even-if-unchanged (or --note TEXT to publish a new note)")
        except ServiceError as exc:
            fail(exc.message)
        _show(record, as_json, service.context.plan.settings)


@release_app.command("now")
def now(
    zero: Annotated[bool, typer.Option("--zero", help="A zero-count rehearsal release for media.")] = False,
    note: Annotated[str, typer.Option(help="A note published with the release.")] = "",
    even_if_unchanged: Annotated[bool, typer.Option(
        "--even-if-unchanged", help="Release even when nothing differs from the latest release (no precinct "
                                    "new or changed, no whole-state file due, the same note).")] = False,
    actor: Actor = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    election: ElectionOpt = None,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Release every accepted precinct now (a new numbered, immutable snapshot). Refused (exit 2) when it would
    publish the latest release again: nothing newly accepted or changed, no whole-state file due, the same
    note; --even-if-unchanged releases anyway."""
    _run("release", database=database, election=election, snapshots=snapshots, actor=actor, as_json=as_json,
         zero=zero, note=note, even_if_unchanged=even_if_unchanged)


def _counts(text: str | None) -> dict[str, int] | None:
    if text is None:
        return None
    counts: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        kind, _, number = part.partition("=")
        if not number.strip().isdigit():
            fail(f"--acknowledge-counts {text!r}: expected KIND=N,... (kinds: not-reported, incomplete, held, "
                 f"conflicting), got {part!r}")
        counts[kind.strip()] = int(number)
    return counts


def _codes(codes: list[str] | None, path: Path | None) -> list[str]:
    named = list(codes or [])
    if path is not None:
        try:
            named += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            fail(f"--acknowledge-file {path}: {exc}")
    return named


@release_app.command("certify")
def certify(
    act: Annotated[str, typer.Option("--act", help="The certifying act (recorded and published).")],
    acknowledge: Annotated[list[str] | None, typer.Option(
        "--acknowledge", metavar="CODE", help="A precinct certified without accepted results (not reported, "
                                              "incomplete, held or conflicting); repeat for each.")] = None,
    acknowledge_file: Annotated[Path | None, typer.Option(
        "--acknowledge-file", metavar="FILE", help="Those precinct codes, one per line.")] = None,
    acknowledge_counts: Annotated[str | None, typer.Option(
        "--acknowledge-counts", metavar="KIND=N,...", help="Or how many of each kind: e.g. "
                                                          "'not-reported=3,held=1' (exactly what is outstanding).")]
        = None,
    actor: Actor = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    election: ElectionOpt = None,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """A new release with status certified. Refused (exit 2, listing them) while precincts have no accepted
    results, unless the act names them: every code (--acknowledge/--acknowledge-file) or how many of each
    kind (--acknowledge-counts). After certification, `release now` publishes "certified, corrected"."""
    _run("certify", database=database, election=election, snapshots=snapshots, actor=actor, as_json=as_json,
         act=act, acknowledge=_codes(acknowledge, acknowledge_file), counts=_counts(acknowledge_counts))


@release_app.command("list")
def list_releases(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one release per line.")] = False,
    election: ElectionOpt = None,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Every release, newest first."""
    with opened(database) as engine:
        service = _service(engine, election, snapshots, database)
        for record in service.list():
            _show(record, as_json, service.context.plan.settings)


@release_app.command("continuous")
def continuous(
    switch: Annotated[Switch, typer.Argument(help="on: release newly accepted precincts automatically.")],
    actor: Actor = None,
    election: ElectionOpt = None,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Switch continuous release on or off (running app workers pick it up within a second)."""
    with opened(database) as engine:
        service = _service(engine, election, snapshots, database)
        service.set_continuous(switch is Switch.on, actor=actor or login_actor())
    err.print(f"continuous release is {switch.value}", highlight=False, markup=False)


@release_app.command("watch")
def watch(
    interval: Annotated[float, typer.Option(help="Seconds between looks for newly accepted precincts.", min=0.05)]
    = 1.0,
    busy_share: Annotated[float, typer.Option(
        help="The most of its time the loop spends releasing: 0.5 (the default) waits as long as a round took, "
             "for a watcher sharing cores with the app; 1 waits only --interval, for a watcher on a core of its "
             "own.", min=0.05, max=1.0)] = 0.5,
    election: ElectionOpt = None,
    snapshots: Snapshots = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Run the continuous-release loop in this process until stopped (SIGTERM or Ctrl-C): while continuous
    release is switched on, newly accepted precincts are released. Run it beside app workers started with
    CAUCUS_RELEASE_IN_APP=false (several watchers are safe: the database decides who writes release n). The
    whole-state files follow CAUCUS_BULK_INTERVAL (seconds, default 30), set here as on the app."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from caucus.service.continuous import ContinuousReleaser  # noqa: PLC0415

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with opened(database) as engine:
        releaser = ContinuousReleaser(_service(engine, election, snapshots, database), interval,
                                      busy_share=busy_share)
        err.print(f"watching for accepted precincts every {interval:g} s (busy at most {busy_share:.0%} of the "
                  "time)", highlight=False, markup=False)
        releaser.start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            releaser.stop()


def verify_release(
    source: Annotated[str, typer.Argument(metavar="URL|DIR", help="http(s)://host of a caucus site, or a release "
                                                                  "or snapshot directory.")],
    expect_manifest: Annotated[str | None, typer.Option(
        "--expect-manifest", metavar="SHA256", help="The manifest's sha256 as recorded when the release was "
        "published (shown on the site, in `caucus release list`, in an observer's copy): fail if it differs, "
        "so a release whose files and manifest were both rewritten is caught.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Recompute every released precinct's delegates and SDEs from its published alignments, check every
    total and every manifest hash. Exit 1 if anything does not check out."""
    import re  # noqa: PLC0415
    from urllib.parse import urlsplit  # noqa: PLC0415

    from caucus.cli.feed_fetch import FetchFailed, feed_get, probe_feed  # noqa: PLC0415
    from caucus.publish.verify import Unreadable, dir_fetcher, url_fetcher, verify  # noqa: PLC0415

    expected = None if expect_manifest is None else expect_manifest.strip().lower()
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        fail(f"--expect-manifest {expect_manifest!r}: expected a SHA-256, 64 hex digits")
    is_url = source.startswith(("http://", "https://"))
    try:
        if is_url:
            probe_feed(source)  # one precise line if the site cannot be read or is not a caucus feed
            fetch, number = url_fetcher(source, feed_get)
        else:
            fetch, number = dir_fetcher(Path(source))
        result = verify(fetch, number, expect_manifest=expected)
    except (Unreadable, FetchFailed, OSError, KeyError, ValueError, TypeError) as exc:
        path = urlsplit(source).path if is_url else ""
        hint = (f" (verify-release reads the feed under the site's root, {source[:len(source) - len(path)]}"
                f"/feed/v1/: give the root, not a page's address)" if path.strip("/") else "")
        message = " ".join(str(exc).split()) or type(exc).__name__
        err.print(f"error: cannot read the release at {source}: {message}{hint}", highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if as_json:
        out.print(json.dumps({"release": result.release, "manifest_sha256": result.manifest_sha256,
                              "ledger_head": result.ledger_head, "files": result.files, "precincts": result.precincts,
                              "ok": result.ok, "problems": result.problems}), highlight=False, markup=False)
    else:
        for problem in result.problems:
            out.print(f"FAIL {problem}", highlight=False, markup=False)
        verdict = "OK" if result.ok else f"{len(result.problems)} problem(s)"
        head = result.ledger_head
        anchored = f", ledger head #{head['seq']} {head['hash']}" if head is not None else ", no ledger head"
        expected_note = " (as expected)" if expected is not None and expected == result.manifest_sha256 else ""
        out.print(f"release {result.release}: {result.files} files, {result.precincts} precincts recomputed"
                  f"{anchored}, manifest sha256 {result.manifest_sha256}{expected_note}: {verdict}",
                  highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)

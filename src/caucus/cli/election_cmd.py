"""``caucus init | pins | verify | log | serve``: set up and run an election's ledger (docs/operations.md).

Every command takes ``--database URL`` (default: ``$CAUCUS_DATABASE_URL``, else the embedded SQLite file
``./var/caucus.db``) and brings the schema up to date before use. Exit codes: 0 done; 1 ``verify`` found
a broken chain or a published ledger head the ledger no longer holds, or ``pins issue`` could not issue every
credential asked for; 2 bad usage (unknown election or precinct, bad plan, existing files, bad database
URL, a release given to ``--against-release`` that cannot be read...). The ledger, the pins module and the
web server are imported inside the commands, so ``caucus audit`` does not pay for them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from caucus.cli.common import err, fail, out

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from caucus.ledger import AuditEvent, ChainReport
    from caucus.plans.settings import PlanSettings

DEFAULT_DATABASE = "sqlite:///./var/caucus.db"
MAX_PLAN_REF = 100  # elections.plan_name is VARCHAR(100)
EXIT_FAILED = 1

Database = Annotated[str, typer.Option(
    "--database", envvar="CAUCUS_DATABASE_URL", metavar="URL",
    help="sqlite:///path/caucus.db (embedded) or postgresql://... (production).")]


ElectionOpt = Annotated[str | None, typer.Option(
    "--election", envvar="CAUCUS_ELECTION", metavar="SLUG",
    help="The election (default: the only election in the database).")]


class ModeName(StrEnum):
    test = "test"
    live = "live"


def register(app: typer.Typer) -> None:
    """Add these commands to the ``caucus`` app."""
    app.command("init")(init)
    from caucus.cli.pins_cmd import pins_app  # noqa: PLC0415  (pins_cmd imports this module)

    app.add_typer(pins_app, name="pins")
    app.command("verify")(verify)
    app.command("log")(log)
    app.command("serve")(serve)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).render_as_string(hide_password=True)


def absolute_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute (so server workers agree on the file)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        fail(f"--database {url!r}: {exc}")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:") and not os.path.isabs(parsed.database):
        return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)
    return url


@contextmanager
def opened(url: str, *, create: bool = False) -> Iterator[Engine]:
    """An engine on ``url`` with the schema migrated to the latest revision; exit 2 if that fails. A SQLite file
    that does not exist is an error (a mistyped ``--database`` must not check, list or change an empty new
    database and report success), unless ``create`` (``caucus init``, ``caucus serve``, ``caucus staff add``)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415

    from caucus.ledger import make_engine, upgrade  # noqa: PLC0415

    absolute = absolute_url(url)
    if not create:
        parsed = make_url(absolute)
        path = parsed.database or ""
        if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not path.startswith("file:") \
                and not Path(path).is_file():
            fail(f"database {_safe(url)}: no such file {path} (`caucus init` creates it; check --database or "
                 "CAUCUS_DATABASE_URL)")
    try:
        engine = make_engine(absolute)
    except (ValueError, ArgumentError) as exc:
        fail(f"--database {url!r}: {exc}")
    try:
        try:
            upgrade(engine)
        except SQLAlchemyError as exc:
            fail(f"database {_safe(url)}: cannot open or migrate it: {exc}")
        yield engine
    finally:
        engine.dispose()


@contextmanager
def ledger_errors() -> Iterator[None]:
    """Unknown elections and precincts, and other refusals of the ledger, exit 2 with their message."""
    from caucus.ledger import LedgerError  # noqa: PLC0415

    try:
        yield
    except LedgerError as exc:
        fail(exc.message)


def choose_election(engine: Engine, election: str | None) -> str:
    """``election`` if the database has it; without one, the database's only election. Otherwise exit 2
    with a message listing the elections there are."""
    from sqlalchemy import select  # noqa: PLC0415

    from caucus.ledger.schema import elections  # noqa: PLC0415

    with engine.connect() as conn:
        slugs = [str(s) for s in conn.execute(select(elections.c.slug).order_by(elections.c.id)).scalars()]
    if election is not None:
        if election not in slugs:
            known = f"it has {', '.join(slugs)}" if slugs else "it has none yet (caucus init)"
            fail(f"no election with slug {election!r} in this database; {known}")
        return election
    if len(slugs) == 1:
        return slugs[0]
    if not slugs:
        fail("this database has no election yet; create one first (caucus init SLUG --plan PLAN)")
    fail(f"this database has {len(slugs)} elections: {', '.join(slugs)}; choose one with --election SLUG "
         "(or CAUCUS_ELECTION)")


# -- init ------------------------------------------------------------------------------------------


def init(
    slug: Annotated[str, typer.Argument(help="The new election's short name: lowercase letters, digits, dashes.")],
    plan: Annotated[str, typer.Option(help="Bundled plan name or a party's plan directory (docs/plan-format.md); "
                                           "the server reads it again at start-up, so leave it in place.")]
        = "iowa-2020",
    mode: Annotated[ModeName, typer.Option(help="'test' for rehearsals, 'live' for caucus night.")] = ModeName.test,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Create an election with every precinct and satellite site of a plan."""
    from caucus.ledger import PrecinctSpec, create_election  # noqa: PLC0415
    from caucus.plans import PlanError, list_bundled_plans, load_plan  # noqa: PLC0415

    try:
        the_plan = load_plan(plan)
    except (PlanError, OSError) as exc:
        fail(f"plan {plan}: {exc}")
    # The election records how to load its plan again: a bundled name, or the directory's absolute path.
    plan_ref = plan if plan in list_bundled_plans() else str(Path(plan).resolve())
    if len(plan_ref) > MAX_PLAN_REF:
        fail(f"plan directory {plan_ref}: the path is longer than {MAX_PLAN_REF} characters; move it somewhere shorter")
    specs = [PrecinctSpec(code=p.code, county=p.county, name=p.name, delegates=p.delegates, kind=p.kind)
             for p in the_plan.precincts]
    with opened(database, create=True) as engine, ledger_errors():
        create_election(engine, slug, plan_ref, mode.value, specs, actor=actor())
    in_state = sum(1 for p in the_plan.precincts if p.kind == "precinct")
    counties = sum(1 for c in the_plan.counties.values() if c.kind == "county")
    pools = len(the_plan.counties) - counties
    out.print(f"created election {slug} ({mode.value} mode) from plan {the_plan.name}: "
              f"{_count(in_state, 'precinct')}, {_count(len(specs) - in_state, 'satellite site')}, "
              f"{_count(counties, 'county', 'counties')}, {_count(pools, 'satellite pool')}",
              highlight=False, markup=False)
    err.print(f"plan: {plan_ref}\ndatabase: {_safe(absolute_url(database))}", highlight=False, markup=False)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def actor() -> str:
    """Who ran the command, for the audit log: ``cli:<login name>``."""
    import getpass  # noqa: PLC0415

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return f"cli:uid-{os.getuid()}"


# -- verify ----------------------------------------------------------------------------------------


def verify(
    slug: Annotated[str | None, typer.Argument(help="The election; default: every election.")] = None,
    expect_head: Annotated[str | None, typer.Option(
        metavar="SEQ:HASH", help="A head published earlier (entry count and head hash): also fail if that entry "
                                 "is gone or its hash changed (deleted or rewritten newest entries).")] = None,
    against_release: Annotated[list[str] | None, typer.Option(
        "--against-release", metavar="URL|DIR", help="A published release (a site's URL for its latest release, "
        "a release's URL, a release or snapshot directory for every release in it; repeat for more): fail if "
        "the ledger no longer holds the head each published (docs/ledger-format.md).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document (schema caucus.verify/1).")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Recompute every ledger entry's hash and check every link of the chain; with --against-release, check
    the ledger against the heads releases published. Exit 1 if a chain is broken or a published head is
    gone, different or followed by a back-dated entry; 2 if a release cannot be read."""
    from sqlalchemy import select  # noqa: PLC0415

    from caucus.cli.anchor_cmd import check_heads, print_heads, read_sources  # noqa: PLC0415
    from caucus.ledger import verify_chain  # noqa: PLC0415
    from caucus.ledger.schema import elections  # noqa: PLC0415

    published = _published_head(expect_head, slug)
    heads = read_sources(against_release or [], slug)
    with opened(database) as engine, ledger_errors():
        if slug is None:
            with engine.connect() as conn:
                slugs = list(conn.execute(select(elections.c.slug).order_by(elections.c.id)).scalars())
        else:
            slugs = [choose_election(engine, slug)]
        reports = [verify_chain(engine, s) for s in slugs]
        if published is not None and reports[0].ok:
            reports[0] = _check_published(engine, reports[0], *published)
        checked = check_heads(engine, {r.election: r for r in reports}, heads)
        tallies = _campaign_chains(engine, slugs)
        states = _state_checks(engine, slugs)
    ok = (all(r.ok for r in reports) and all(not problems for _, problems in checked) and all(t.ok for _, t in tallies)
          and all(state_ok for state_ok, _, _ in states))
    if as_json:
        document: dict[str, object] = {"schema": "caucus.verify/1", "ok": ok,
                                       "elections": [_report_json(r) for r in reports]}
        if tallies:
            document["campaign_tallies"] = [{"election": s, "campaign": t.campaign, "ok": t.ok, "rows": t.rows_checked,
                                             "first_bad_id": t.first_bad_id, "problem": t.problem} for s, t in tallies]
        document["precinct_status"] = [fields for _, _, fields in states]
        if against_release:
            document["releases"] = [{"source": h.source, "election": h.election, "release": h.release,
                                     "head": {"seq": h.seq, "hash": h.hash}, "manifest_sha256": h.manifest_sha256,
                                     "ok": not problems, "problems": problems} for h, problems in checked]
        out.print_json(json.dumps(document), indent=1)
    else:
        if not reports:
            err.print("no elections in this database", highlight=False, markup=False)
        for report in reports:
            _print_report(report)
        for election, t in tallies:  # the campaigns' own tallies (never counted): their chains too
            state = f"chain ok, {t.rows_checked} rows" if t.ok else f"chain broken at row {t.first_bad_id}: {t.problem}"
            out.print(f"{election}: campaign {t.campaign} tallies: {state}", highlight=False, markup=False)
        for _, line, _ in states:  # each precinct's maintained status against the ledger (caucus state check)
            out.print(line, highlight=False, markup=False)
        print_heads(checked)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def _state_checks(engine: Engine, slugs: list[str]) -> list[tuple[bool, str, dict[str, object]]]:
    from caucus.cli.state_cmd import check_election  # noqa: PLC0415

    return [check_election(engine, slug) for slug in slugs]


def _campaign_chains(engine: Engine, slugs: list[str]) -> list[tuple[str, Any]]:
    """(election, report) of every campaign's tally chain (docs/campaigns.md), for ``caucus verify``."""
    from caucus.ledger.campaign_tallies import verify_campaign_chains  # noqa: PLC0415
    from caucus.ledger.elections import election_id_for  # noqa: PLC0415

    found = []
    for slug in slugs:
        with engine.connect() as conn:
            election_id = election_id_for(conn, slug)
        found += [(slug, report) for report in verify_campaign_chains(engine, election_id)]
    return found


def _published_head(text: str | None, slug: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    if slug is None:
        fail("--expect-head needs the election's SLUG")
    seq, _, head = text.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(head) != 64 or any(c not in "0123456789abcdef" for c in head):
        fail(f"--expect-head {text!r}: expected SEQ:HASH, an entry number and a 64-digit hex SHA-256")
    return int(seq), head


def _check_published(engine: Engine, report: ChainReport, seq: int, head: str) -> ChainReport:
    """``report`` (a valid chain), failed if entry ``seq`` is missing or no longer has hash ``head``."""
    import dataclasses  # noqa: PLC0415

    from caucus.ledger import entries  # noqa: PLC0415

    if report.entries_checked < seq:
        return dataclasses.replace(report, ok=False, first_bad_seq=report.entries_checked + 1,
                                   problem=f"the published head is entry #{seq}, but the ledger ends at entry "
                                           f"#{report.entries_checked}: entries were deleted")
    (entry,) = entries(engine, report.election, since_seq=seq - 1, limit=1)
    if entry.content_hash != head:
        return dataclasses.replace(report, ok=False, first_bad_seq=seq,
                                   problem=f"entry #{seq} has hash {entry.content_hash[:12]}…, not the published "
                                           f"{head[:12]}…: entries up to it were rewritten")
    return report


def _report_json(report: ChainReport) -> dict[str, object]:
    return {"election": report.election, "ok": report.ok, "entries_checked": report.entries_checked,
            "head_hash": report.head_hash, "first_bad_seq": report.first_bad_seq, "problem": report.problem}


def _print_report(report: ChainReport) -> None:
    if report.ok:
        out.print(f"{report.election}: OK, {report.entries_checked:,} entries checked, head hash {report.head_hash}",
                  highlight=False, markup=False)
    else:
        out.print(f"{report.election}: BROKEN at seq {report.first_bad_seq}: {report.problem} "
                  f"({report.entries_checked:,} entries checked; last good hash {report.head_hash})",
                  highlight=False, markup=False)


# -- log -------------------------------------------------------------------------------------------


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r} is not an ISO 8601 date or time (e.g. 2020-02-03 or 2020-02-03T19:00-06:00)")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def log(
    slug: Annotated[str | None, typer.Argument(help="The election; default: every event.")] = None,
    since: Annotated[str | None, typer.Option(help="Only events at or after this ISO 8601 time (UTC if no "
                                                   "offset given).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the N most recent events (still printed "
                                                          "oldest first).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one event per line.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """The append-only audit log: who did what, when, and the outcome."""
    from caucus.ledger import audit_events, get_election  # noqa: PLC0415
    from caucus.plans import PlanError, load_plan  # noqa: PLC0415

    start = _since(since)
    settings = None
    with opened(database) as engine, ledger_errors():
        if slug is not None:
            choose_election(engine, slug)  # an unknown election is an error naming the ones there are
            election = get_election(engine, slug)
            try:  # one election: its local time, as everything else shows people; several: UTC
                settings = load_plan(election.plan_name).settings
            except PlanError:
                settings = None
        events = audit_events(engine, slug)
    if start is not None:
        events = [e for e in events if e.at >= start]
    if limit is not None:
        events = events[-limit:]
    if as_json:
        for event in events:
            out.print(json.dumps(_event_json(event), ensure_ascii=False, sort_keys=True),
                      highlight=False, markup=False, soft_wrap=True)
    else:
        _print_events(events, with_election=slug is None, settings=settings)


def _event_json(event: AuditEvent) -> dict[str, object]:
    return {"id": event.id, "election": event.election, "at": event.at.isoformat(), "actor": event.actor,
            "action": event.action, "outcome": event.outcome, "detail": event.detail}


def _detail_text(detail: dict[str, object]) -> str:
    """``key=value, ...``: text as it is, anything else (numbers, lists, mappings) as compact JSON, never a
    Python repr (``{'a': 1}``, ``None``, ``True``)."""
    def text(value: object) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
    return ", ".join(f"{key}={text(value)}" for key, value in detail.items())


#: below this many columns ``caucus log`` prints one paragraph per event instead of a table
NARROW_LOG = 120


def _print_events(events: list[AuditEvent], *, with_election: bool, settings: PlanSettings | None) -> None:
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    zone = settings.time_zone if settings is not None else "UTC"
    title = f"Audit log ({len(events):,} events; times in {zone})"
    if out.width < NARROW_LOG:  # a terminal too narrow for six columns: one event per paragraph, never folded
        out.print(title, markup=False, highlight=False)
        for event in events:
            at = settings.local(event.at) if settings is not None else event.at.astimezone(UTC)
            head = [f"{at:%Y-%m-%d %H:%M:%S} {at.tzname()}", *([event.election or "-"] if with_election else []),
                    event.action, event.outcome, f"by {event.actor}"]
            out.print("  ".join(head), markup=False, highlight=False, soft_wrap=True)
            if event.detail:
                out.print("    " + _detail_text(event.detail), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=title, title_justify="left")
    for column in ["when", *(["election"] if with_election else []), "who", "what", "outcome", "detail"]:
        # times and action names are never folded across lines; the detail takes what width is left
        table.add_column(column, overflow="fold", no_wrap=column in ("when", "what"))
    for event in events:
        detail = _detail_text(event.detail)
        at = settings.local(event.at) if settings is not None else event.at.astimezone(UTC)
        row = [f"{at:%Y-%m-%d %H:%M:%S} {at.tzname()}", *([event.election or "-"] if with_election
               else []), event.actor, event.action, event.outcome, detail]
        table.add_row(*(Text(cell) for cell in row))  # plain text: no Rich markup in stored values
    out.print(table, markup=False, highlight=False)


# -- serve -----------------------------------------------------------------------------------------


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    election: Annotated[str | None, typer.Option(envvar="CAUCUS_ELECTION",
                                                 help="The election the server runs.")] = None,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="An address or CIDR network of a reverse proxy whose X-Forwarded-For is believed "
        "(repeat the option; default: CAUCUS_TRUSTED_PROXIES, else none). The nginx of deploy/ on the same host: "
        "--trusted-proxy 127.0.0.1 --trusted-proxy ::1.")] = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Run the web server (uvicorn, app factory caucus.web.app:create_app) on the ledger."""
    from caucus.ledger import get_election  # noqa: PLC0415
    from caucus.web.clients import TrustedProxies  # noqa: PLC0415

    if trusted_proxy:
        try:
            TrustedProxies.parse(trusted_proxy)
        except ValueError as exc:
            fail(f"--trusted-proxy: {exc}")
        os.environ["CAUCUS_TRUSTED_PROXIES"] = ",".join(trusted_proxy)
    url = absolute_url(database)
    with opened(url, create=True) as engine, ledger_errors():
        if election is not None:
            get_election(engine, election)
        else:
            # the server runs one election: without --election, the database's only one (else exit 2, listing them)
            election = choose_election(engine, None)
    os.environ["CAUCUS_DATABASE_URL"] = url
    os.environ["CAUCUS_ELECTION"] = election
    proxies = os.environ.get("CAUCUS_TRUSTED_PROXIES", "").strip()
    err.print(f"serving {election} from {_safe(url)} on http://{host}:{port} "
              f"({workers} worker{'s' if workers > 1 else ''}); X-Forwarded-For believed from "
              f"{proxies or 'no proxy (clients are the addresses that connect)'}", highlight=False, markup=False)
    import uvicorn  # noqa: PLC0415

    # the app reads X-Forwarded-For itself, from trusted proxies only (caucus.web.clients)
    uvicorn.run("caucus.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False)

"""``caucus pins SLUG issue | rotate | revoke``: precinct credentials, printed once (docs/operations.md).

Every card carries the app credential and the hotline code; rotation and revocation cover both, and a new
card ends the precinct's sign-in and hotline throttles.

Exit codes: 0 done; 1 ``issue`` could not issue every credential asked for (those it did issue are
written out); 2 bad usage (unknown election or precinct, files that exist, precincts that already have a
credential without ``--reissue``...); 130 interrupted (what was issued is written out).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from caucus.cli.common import err, fail, out
from caucus.cli.election_cmd import (
    DEFAULT_DATABASE,
    EXIT_FAILED,
    Database,
    actor,
    choose_election,
    ledger_errors,
    opened,
)

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy import Engine

    from caucus.ledger import IssuedCredential, PrecinctSpec
    from caucus.pins import Card, CardHeader, Matrix

EXIT_INTERRUPTED = 130


class CostName(StrEnum):
    production = "production"
    test = "test"


class PaperName(StrEnum):
    letter = "letter"
    a4 = "a4"


Cost = Annotated[CostName, typer.Option(
    help="argon2id cost of the stored hashes. 'test' is for tests and rehearsals only, never a real election.")]
BaseUrl = Annotated[str | None, typer.Option(
    envvar="CAUCUS_CARDS_BASE_URL", show_default=False,
    help="The site's https:// address; the cards' QR codes point to its chair app (BASE/chair?precinct=CODE). "
         "Required (or the CAUCUS_CARDS_BASE_URL setting) unless --insecure-url.")]
InsecureUrl = Annotated[bool, typer.Option(
    "--insecure-url",
    help="Rehearsals on a laptop only: allow an http:// --base-url, and without one print cards for "
         "http://127.0.0.1:8000. Never for cards handed to chairs.")]
PaperOpt = Annotated[PaperName, typer.Option(help="Paper size of the cards.")]
Force = Annotated[bool, typer.Option(help="Replace existing credential files.")]

pins_app = typer.Typer(help="Precinct credentials: issue, rotate, revoke.", no_args_is_help=True)


@pins_app.callback()
def pins(ctx: typer.Context, slug: Annotated[str, typer.Argument(help="The election.")]) -> None:
    """Precinct credentials of election SLUG: caucus pins SLUG issue|rotate|revoke ..."""
    ctx.obj = slug


def default_workers() -> int:
    """Hashing threads: the CPUs this process may use, at most 8 (each hash holds 19 MiB)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cpus))


@pins_app.command("issue")
def issue(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for credentials.csv and credentials.pdf.")],
    precinct: Annotated[list[str] | None, typer.Option(
        "--precinct", "-p", help="A precinct code (repeat the option); default: every precinct.")] = None,
    reissue: Annotated[bool, typer.Option(
        help="Also issue for precincts that already have a credential (their old one stops working).")] = False,
    base_url: BaseUrl = None,
    insecure_url: InsecureUrl = False,
    paper: PaperOpt = PaperName.letter,
    force: Force = False,
    hash_cost: Cost = CostName.production,
    workers: Annotated[int, typer.Option(min=0, help="Threads hashing at once (0: the CPUs, at most 8).")] = 0,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Issue one credential per precinct and write them, once, to a CSV file and printable cards."""
    from caucus import pins as p  # noqa: PLC0415
    from caucus.ledger import list_precincts  # noqa: PLC0415

    slug: str = ctx.obj
    base_url = _base_url(base_url, insecure_url)
    files = [out_dir / "credentials.csv", out_dir / "credentials.pdf"]
    _refuse_existing(files, force)
    threads = workers or default_workers()
    with _progress() as bar:
        with opened(database) as engine, ledger_errors():
            specs = {spec.code: spec for spec in list_precincts(engine, choose_election(engine, slug))}
            header = _card_header(engine, slug)
            codes = list(dict.fromkeys(_canonical(specs, c) for c in precinct)) if precinct else list(specs)
            _check_codes(engine, slug, codes, specs, reissue)
            started = time.perf_counter()
            hashing = bar.add_task("hashing credentials", total=len(codes))
            issuer = p.ledger_issuer(engine, slug, p.HASH_COSTS[hash_cost.value], actor())
            qr_codes = p.QrCodes(p.chair_url(base_url, code) for code in codes)  # meanwhile, on another thread
            result = p.issue_all(issuer, codes, workers=threads, progress=lambda n: bar.advance(hashing, n))
            if result.interrupted:
                qr_codes.stop()
            elapsed = time.perf_counter() - started
        cards = [_card(specs[code], secret, base_url) for code, secret in result.secrets.items()]
        err.print(f"issued {len(cards):,} credentials in {elapsed:.1f} s ({threads} hashing threads, "
                  f"{hash_cost.value} cost)", highlight=False, markup=False)
        if cards:
            printing = bar.add_task("printing cards", total=len(cards))
            _write_cards(files, cards, slug, paper, force, progress=lambda n: bar.advance(printing, n),
                         qr_codes=qr_codes.result(), header=header)
            for path in files:
                out.print(str(path), highlight=False, markup=False)
    if result.failed:
        for code, why in list(result.failed.items())[:20]:
            err.print(f"[bold red]not issued:[/] {escape(code)}: {escape(why)}", highlight=False)
        err.print(f"{len(result.failed):,} precincts got no credential; issue them with --precinct CODE ... and a "
                  "new --out directory", highlight=False, markup=False)
        raise typer.Exit(EXIT_INTERRUPTED if result.interrupted else EXIT_FAILED)


@pins_app.command("rotate")
def rotate(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The precinct code.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for credential-<code>.csv and .pdf.")],
    base_url: BaseUrl = None,
    insecure_url: InsecureUrl = False,
    paper: PaperOpt = PaperName.letter,
    force: Force = False,
    hash_cost: Cost = CostName.production,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Give one precinct a new card (credential and hotline code); the old ones stop working at once, and the
    precinct's sign-in and hotline throttles end."""
    from caucus.ledger import issue_cards, list_precincts  # noqa: PLC0415
    from caucus.pins import HASH_COSTS, file_stem  # noqa: PLC0415

    slug: str = ctx.obj
    base_url = _base_url(base_url, insecure_url)
    with opened(database) as engine, ledger_errors():
        spec = _find(list_precincts(engine, choose_election(engine, slug)), code)
        if spec is None:
            fail(f"election {slug!r} has no precinct {code!r}")
        stem = f"credential-{file_stem(spec.code)}"
        files = [out_dir / f"{stem}.csv", out_dir / f"{stem}.pdf"]
        _refuse_existing(files, force)
        issued = issue_cards(engine, slug, [spec.code], cost=HASH_COSTS[hash_cost.value], actor=actor())[spec.code]
        header = _card_header(engine, slug)
    _write_cards(files, [_card(spec, issued, base_url)], slug, paper, force, header=header)
    for path in files:
        out.print(str(path), highlight=False, markup=False)
    err.print(f"new credential and hotline code for {spec.code}; the previous ones no longer work, and its sign-in "
              "and hotline throttles are lifted", highlight=False, markup=False)


@pins_app.command("revoke")
def revoke(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The precinct code.")],
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Revoke a precinct's credential and hotline code without issuing new ones."""
    from caucus.ledger import list_precincts, revoke_credential  # noqa: PLC0415

    slug: str = ctx.obj
    with opened(database) as engine, ledger_errors():
        spec = _find(list_precincts(engine, choose_election(engine, slug)), code)
        if spec is None:
            fail(f"election {slug!r} has no precinct {code!r}")
        revoked = revoke_credential(engine, slug, spec.code, actor=actor())
    err.print(f"revoked the credential and hotline code of {spec.code}" if revoked
              else f"{spec.code} had no active credential; nothing to do", highlight=False, markup=False)


def _base_url(base_url: str | None, insecure: bool) -> str:
    """The checked chair-app address (exit 2 naming --base-url and the rule if it is not one)."""
    from caucus.pins import BadBaseUrl, check_base_url  # noqa: PLC0415

    try:
        checked = check_base_url(base_url, insecure=insecure)
    except BadBaseUrl as exc:
        fail(escape(str(exc)))
    if insecure:
        err.print(f"--insecure-url: cards point to {checked}; for a rehearsal only, never hand them to chairs",
                  highlight=False, markup=False)
    return checked


def _canonical(specs: dict[str, PrecinctSpec], code: str) -> str:
    found = _find(list(specs.values()), code)
    return found.code if found is not None else code


def _find(specs: list[PrecinctSpec], code: str) -> PrecinctSpec | None:
    """The precinct with this code as typed (case and extra spaces ignored)."""
    from caucus.plans.model import fold_code  # noqa: PLC0415

    exact = next((s for s in specs if s.code == code), None)
    return exact or next((s for s in specs if fold_code(s.code) == fold_code(code)), None)


def _check_codes(engine: Engine, slug: str, codes: list[str], specs: dict[str, PrecinctSpec], reissue: bool) -> None:
    from caucus.pins import active_codes  # noqa: PLC0415

    unknown = [code for code in codes if code not in specs]
    if unknown:
        fail(f"election {slug!r} has no precinct {', '.join(map(repr, unknown))}")
    active = active_codes(engine, slug, codes)
    if active and not reissue:
        fail(f"{_precincts(len(active))} already {'has' if len(active) == 1 else 'have'} a credential "
             f"({', '.join(map(repr, active[:3]))}{', ...' if len(active) > 3 else ''}); issuing again would stop "
             "the printed ones working. Use `caucus pins SLUG rotate CODE` for one precinct, or --reissue to "
             "replace them")


def _precincts(n: int) -> str:
    return "1 precinct" if n == 1 else f"{n:,} precincts"


def _refuse_existing(files: list[Path], force: bool) -> None:
    from caucus.pins import existing  # noqa: PLC0415

    found = existing(files)
    if found and not force:
        fail(f"{', '.join(map(str, found))} already exist{'s' if len(found) == 1 else ''}; credentials are written "
             "once: use another --out directory, or --force to replace")


def _card(spec: PrecinctSpec, issued: IssuedCredential, base_url: str) -> Card:
    from caucus.pins import Card, chair_url  # noqa: PLC0415

    return Card(code=spec.code, county=spec.county, name=spec.name, credential=issued.credential,
                url=chair_url(base_url, spec.code), hotline_code=issued.hotline_code)


@contextmanager
def _uninterruptible() -> Iterator[None]:
    """Ignore Ctrl-C while credentials that are live in the ledger are being written out: an interrupt
    here would lose them. (Only the main thread may change signal handlers; elsewhere this does nothing.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _card_header(engine: Engine, slug: str) -> CardHeader:
    """The party and hotline number(s) of the election's plan, for its cards; warns when the plan sets no
    hotline number (the cards then leave a line to write it in)."""
    from caucus.ledger import get_election  # noqa: PLC0415
    from caucus.pins import CardHeader  # noqa: PLC0415
    from caucus.plans import PlanError, load_plan  # noqa: PLC0415

    plan_ref = get_election(engine, slug).plan_name
    try:
        settings = load_plan(plan_ref).settings
    except (PlanError, OSError) as exc:
        fail(f"election {slug!r} uses plan {plan_ref}, which cannot be loaded: {exc}")
    if not settings.hotline:
        err.print(f"warning: plan {plan_ref} sets no hotline number ([caucus] hotline in plan.toml): the cards "
                  "leave a blank line to write it in", highlight=False, markup=False)
    return CardHeader(party=settings.party, hotline=settings.hotline)


def _write_cards(files: list[Path], cards: list[Card], slug: str, paper: PaperName, force: bool,
                 progress: Callable[[int], None] = lambda n: None, qr_codes: Mapping[str, Matrix] | None = None,
                 header: CardHeader | None = None) -> None:
    from caucus.pins import CardHeader, render_csv, render_pdf, write_secret_file  # noqa: PLC0415

    csv_path, pdf_path = files
    try:
        with _uninterruptible():
            pdf = render_pdf(cards, title=slug, paper=paper.value, progress=progress, qr_codes=qr_codes,
                             header=header or CardHeader())
            write_secret_file(csv_path, render_csv(cards), force=force)
            write_secret_file(pdf_path, pdf, force=force)
    except OSError as exc:
        fail(f"could not write the credentials ({exc}): they are active but nobody has them; issue them again "
             "with --reissue (or rotate) into a writable directory")


def _progress() -> Progress:
    """Progress bars on stderr, shown only on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)

"""Precinct credentials on paper: issue them in a thread pool, write them once as CSV and printable cards.

Each card carries two secrets, clearly labelled: the APP CREDENTIAL (typed into the chair app, never read
aloud) and the HOTLINE CODE (read to the hotline operator; it verifies hotline calls only and cannot sign
in). They exist in clear only between :func:`issue_all` and the files written here: the ledger keeps only
their argon2id hashes. The cards' QR code carries the chair-app address of the precinct, never the
credential (a QR code is read by any phone camera in the room, and a photo of a card would be enough to
report for the precinct; the credential must be typed, see docs/operations.md).
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from sqlalchemy import Engine, select

from caucus.ledger import HashCost, IssuedCredential, issue_cards
from caucus.ledger.schema import credentials, elections, precincts

#: where rehearsal cards point when ``--insecure-url`` is given without ``--base-url`` (this laptop's server)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
#: the setting that may give the cards' address instead of ``--base-url``
BASE_URL_SETTING = "CAUCUS_CARDS_BASE_URL"
CSV_COLUMNS = ("code", "county", "name", "credential", "hotline_code", "chair_url")
CostName = Literal["production", "test"]
# "test" is argon2id at its minimum cost: for tests and rehearsals only, never for a real election.
HASH_COSTS: dict[str, HashCost] = {
    "production": HashCost(),
    "test": HashCost(time_cost=1, memory_cost_kib=8, parallelism=1),
}
Paper = Literal["letter", "a4"]
IssueFn = Callable[[list[str]], dict[str, IssuedCredential]]
Matrix = list[list[bool]]  # a QR code's modules, row by row, True for dark


class BadBaseUrl(ValueError):
    """A chair-app address cards must not point to; the message names the option and the rule."""


def check_base_url(base_url: str | None, *, insecure: bool = False) -> str:
    """The chair app's address the cards' QR codes point to, checked: ``https://HOST[:PORT][/PATH]``, with
    no user name, query or fragment. ``http://`` only with ``insecure`` (a rehearsal on a laptop), which
    also makes the default :data:`DEFAULT_BASE_URL`; without it the address must be given. Raises
    :class:`BadBaseUrl` naming the option and the rule."""
    rule = (f"the cards' QR codes must point to the chair app over HTTPS: give --base-url https://HOST (or set "
            f"{BASE_URL_SETTING})")
    if base_url is None or not base_url.strip():
        if insecure:
            return DEFAULT_BASE_URL
        raise BadBaseUrl(f"no --base-url: {rule}; for a rehearsal on this machine only, --insecure-url prints "
                         f"cards for {DEFAULT_BASE_URL}")
    url = base_url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise BadBaseUrl(f"--base-url {url!r} contains spaces or control characters; {rule}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "http" and not insecure:
        raise BadBaseUrl(f"--base-url {url!r} is http://, which sends the chair's credential in clear; {rule} "
                         "(--insecure-url allows http:// for a rehearsal on a laptop, never for a real night)")
    if scheme not in ("https", "http"):
        raise BadBaseUrl(f"--base-url {url!r} is not a web address (scheme {scheme + ':' if scheme else 'missing'}); "
                         f"{rule}")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise BadBaseUrl(f"--base-url {url!r} has a bad port ({exc}); {rule}") from exc
    if not host:
        raise BadBaseUrl(f"--base-url {url!r} names no host; {rule}")
    if "@" in parts.netloc:
        raise BadBaseUrl(f"--base-url {url!r} carries a user name or password; give the address alone")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise BadBaseUrl(f"--base-url {url!r} has a query or fragment; give the chair app's address alone "
                         "(the card adds ?precinct=CODE)")
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def chair_url(base_url: str, code: str) -> str:
    """The chair app's address for one precinct: what the card's QR code encodes."""
    return f"{base_url.rstrip('/')}/chair?precinct={quote(code, safe='')}"


def display_name(name: str) -> str:
    """A plan name for people: HTML entities unescaped (repeatedly: the scraped ``&amp;amp;`` is ``&``)."""
    for _ in range(3):
        unescaped = html.unescape(name)
        if unescaped == name:
            break
        name = unescaped
    return name


def file_stem(code: str) -> str:
    """A file-name-safe form of a precinct code: ``CD1 Satellite/1140`` -> ``CD1-Satellite-1140``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", code).strip("-") or "precinct"


@dataclass(frozen=True)
class Card:
    """One precinct's card as it is printed: the app credential and the hotline code."""

    code: str
    county: str
    name: str
    credential: str
    url: str
    hotline_code: str


# -- issuing ---------------------------------------------------------------------------------------


@dataclass
class IssueResult:
    """Secrets issued by precinct code (in the order asked), and the codes that got none, with why."""

    secrets: dict[str, IssuedCredential] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False


def ledger_issuer(engine: Engine, slug: str, cost: HashCost, actor: str) -> IssueFn:
    """Issue a chunk of credentials through the ledger (one transaction per chunk)."""

    def issue(codes: list[str]) -> dict[str, IssuedCredential]:
        return issue_cards(engine, slug, codes, cost=cost, actor=actor)

    return issue


def chunks(codes: Sequence[str], size: int) -> list[list[str]]:
    return [list(codes[i : i + size]) for i in range(0, len(codes), size)]


def issue_all(
    issue: IssueFn,
    codes: Sequence[str],
    *,
    workers: int,
    chunk_size: int = 16,
    progress: Callable[[int], None] = lambda n: None,
) -> IssueResult:
    """Issue credentials for ``codes`` in chunks on ``workers`` threads (argon2 releases the GIL, so the
    hashing runs in parallel; the ledger serializes the short write transactions).

    A failed chunk does not stop the others: its codes go to ``failed``. On Ctrl-C, chunks not started are
    cancelled and those running finish, so every secret that is live in the ledger is returned and can be
    written out. ``progress`` is called with the number of credentials issued by each finished chunk.
    """
    done: dict[str, IssuedCredential] = {}
    result = IssueResult()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="caucus-pins") as pool:
        futures: dict[Future[dict[str, IssuedCredential]], list[str]] = {
            pool.submit(issue, chunk): chunk for chunk in chunks(codes, max(1, chunk_size))
        }
        try:
            for future in as_completed(futures):
                _collect(future, futures[future], done, result, progress)
        except KeyboardInterrupt:
            result.interrupted = True
            for future in futures:
                future.cancel()
            wait(futures)
            for future, chunk in futures.items():
                if future.cancelled():
                    result.failed.update(dict.fromkeys(chunk, "interrupted before it was issued"))
                elif not set(chunk) & (done.keys() | result.failed.keys()):
                    _collect(future, chunk, done, result, progress)
    result.secrets = {code: done[code] for code in codes if code in done}
    return result


def _collect(
    future: Future[dict[str, IssuedCredential]],
    chunk: list[str],
    done: dict[str, IssuedCredential],
    result: IssueResult,
    progress: Callable[[int], None],
) -> None:
    problem = future.exception()  # the future is done: this does not wait, and does not raise
    if problem is not None:
        result.failed.update(dict.fromkeys(chunk, f"{type(problem).__name__}: {problem}"))
    else:
        done.update(future.result())
        progress(len(chunk))


def active_codes(engine: Engine, slug: str, codes: Iterable[str]) -> list[str]:
    """Which of ``codes`` already have an active credential (in the order given)."""
    query = (
        select(precincts.c.code)
        .join(credentials, credentials.c.precinct_id == precincts.c.id)
        .join(elections, elections.c.id == precincts.c.election_id)
        .where(elections.c.slug == slug, credentials.c.status == "active")
    )
    with engine.connect() as conn:
        active = set(conn.execute(query).scalars())
    return [code for code in codes if code in active]


# -- files -----------------------------------------------------------------------------------------


def existing(paths: Iterable[Path]) -> list[Path]:
    return [path for path in paths if path.exists() or path.is_symlink()]


def write_secret_file(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to a new file readable by its owner only (mode 0600), durably.

    Refuses (FileExistsError) if ``path`` exists, unless ``force``: then the old file is replaced.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if force:
        path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        os.close(fd)


def render_csv(cards: Sequence[Card]) -> bytes:
    """``code,county,name,credential,hotline_code,chair_url``, one row per card (names as the plan writes
    them): ``credential`` is the app credential, ``hotline_code`` the code read to the hotline."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for card in cards:
        writer.writerow((card.code, card.county, card.name, card.credential, card.hotline_code, card.url))
    return buffer.getvalue().encode("utf-8")


def qr_matrix(payload: str) -> Matrix:
    """The QR code of ``payload`` (error correction M, 4-module quiet zone) as rows of dark modules."""
    import qrcode  # noqa: PLC0415  (only the commands that print cards pay for the import)

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


@dataclass(frozen=True)
class _Grid:
    """Where the cards go on a page: ``cols`` x ``rows`` cards inside the margins."""

    width: float
    height: float
    margin: float = 36.0
    cols: int = 2
    rows: int = 4

    @property
    def card_w(self) -> float:
        return (self.width - 2 * self.margin) / self.cols

    @property
    def card_h(self) -> float:
        return (self.height - 2 * self.margin) / self.rows

    def origin(self, index: int) -> tuple[float, float]:
        """The lower-left corner of the ``index``-th card of a page."""
        col, row = index % self.cols, index // self.cols
        return self.margin + col * self.card_w, self.height - self.margin - (row + 1) * self.card_h


class QrCodes:
    """QR matrices of chair addresses, computed on a background thread: started while the credentials hash
    (argon2 releases the GIL), it takes the few milliseconds per code off the printing that follows."""

    def __init__(self, urls: Iterable[str]) -> None:
        self._urls = list(dict.fromkeys(urls))
        self._matrices: dict[str, Matrix] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caucus-qr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for url in self._urls:
            if self._stop.is_set():
                return
            self._matrices[url] = qr_matrix(url)

    def stop(self) -> None:
        self._stop.set()

    def result(self) -> dict[str, Matrix]:
        """The matrices computed (all of them unless stopped)."""
        self._thread.join()
        return self._matrices


@dataclass(frozen=True)
class CardHeader:
    """What every card of an election prints besides its precinct: the party and the hotline number(s)
    (the plan's ``[caucus]`` settings, docs/plan-format.md). No number: the card leaves a line to write it."""

    party: str = ""
    hotline: tuple[str, ...] = ()

    @property
    def hotline_line(self) -> str:
        if not self.hotline:
            return "HOTLINE NUMBER (write it in): ____________________"
        return "HOTLINE: " + " or ".join(self.hotline)


def render_pdf(
    cards: Sequence[Card],
    *,
    title: str,
    paper: Paper = "letter",
    progress: Callable[[int], None] = lambda n: None,
    qr_codes: Mapping[str, Matrix] | None = None,
    header: CardHeader = CardHeader(),
) -> bytes:
    """Printable cards, 2 x 4 per page, with dashed cut lines (see :func:`_draw_card`); ``progress`` is
    called with the number of cards drawn on each page. ``qr_codes``: matrices already computed, by URL.
    ``header``: the party and the hotline number(s) printed on every card."""
    from reportlab.lib.pagesizes import A4, LETTER  # noqa: PLC0415
    from reportlab.pdfgen.canvas import Canvas  # noqa: PLC0415

    grid = _Grid(*(A4 if paper == "a4" else LETTER))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(grid.width, grid.height), invariant=True)
    canvas.setTitle(f"{title}: precinct credentials (confidential)")
    canvas.setCreator("caucus pins")
    canvas.setAuthor("caucus")
    per_page = grid.cols * grid.rows
    pages = max(1, -(-len(cards) // per_page))
    for page in range(pages):
        canvas.setFont("Helvetica", 7)
        canvas.setFillGray(0.35)
        canvas.drawString(grid.margin, grid.height - grid.margin + 12, f"{title}: precinct credentials. "
                          "CONFIDENTIAL: hand each card to its chair only. Cut along the dashed lines.")
        canvas.drawRightString(grid.width - grid.margin, grid.margin - 18, f"page {page + 1} of {pages}")
        _cut_lines(canvas, grid)
        for index, card in enumerate(cards[page * per_page : (page + 1) * per_page]):
            matrix = (qr_codes or {}).get(card.url) or qr_matrix(card.url)
            _draw_card(canvas, card, matrix, grid.origin(index), (grid.card_w, grid.card_h), header=header)
        canvas.showPage()
        progress(len(cards[page * per_page : (page + 1) * per_page]))
    canvas.save()
    return buffer.getvalue()


def _cut_lines(canvas: Any, grid: _Grid) -> None:
    canvas.saveState()
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.5)
    canvas.setDash(4, 3)
    for col in range(grid.cols + 1):
        x = grid.margin + col * grid.card_w
        canvas.line(x, grid.margin / 2, x, grid.height - grid.margin / 2)
    for row in range(grid.rows + 1):
        y = grid.margin + row * grid.card_h
        canvas.line(grid.margin / 2, y, grid.width - grid.margin / 2, y)
    canvas.restoreState()


def _draw_card(canvas: Any, card: Card, qr: Matrix, origin: tuple[float, float], size: tuple[float, float], *,
               header: CardHeader) -> None:
    """One card: the party, then county, precinct name and code top left; the QR code top right; the app
    credential in large monospace groups across the card, then the hotline code, each under a label saying
    what it is for and what never to do with it; the hotline number; the chair address at the foot."""
    from reportlab.lib.utils import simpleSplit  # noqa: PLC0415

    (x, y), (w, h) = origin, size
    pad, qr_size = 12.0, 62.0
    top = y + h - pad
    canvas.setFillGray(0)
    text_w = w - 2 * pad - qr_size - 8
    canvas.setFont("Helvetica", 7)
    canvas.drawString(x + pad, top - 5, _fit(header.party, "Helvetica", 7, text_w))
    top -= 8
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(x + pad, top - 11, _fit(display_name(card.county), "Helvetica-Bold", 12, text_w))
    lines = simpleSplit(display_name(card.name), "Helvetica", 9.5, text_w)[:2 if header.party else 3]
    canvas.setFont("Helvetica", 9.5)
    for i, line in enumerate(lines):
        canvas.drawString(x + pad, top - 27 - 11 * i, line)
    canvas.setFont("Courier", 8)
    canvas.drawString(x + pad, top - 31 - 11 * len(lines), _fit(card.code, "Courier", 8, text_w))
    top += 8
    _draw_qr(canvas, qr, (x + w - pad - qr_size, top - qr_size), qr_size)

    label_y = top - qr_size - 11
    below = _draw_secret(canvas, card.credential, (x + pad, label_y), w - 2 * pad, largest=15.0,
                         label="APP CREDENTIAL: type it into the chair app. Never read it aloud, not even to the "
                               "hotline.")
    _draw_secret(canvas, card.hotline_code, (x + pad, below - 11), w - 2 * pad, largest=12.0,
                 label="HOTLINE CODE: read it to the hotline operator. It cannot sign in to the app.")
    canvas.setFont("Helvetica-Bold", 8)
    canvas.drawString(x + pad, y + pad + 17, _fit(header.hotline_line, "Helvetica-Bold", 8, w - 2 * pad))
    canvas.setFont("Helvetica", 6.5)
    canvas.drawString(x + pad, y + pad + 8, "Scan the QR code with the chair's phone, then type the app credential.")
    canvas.drawString(x + pad, y + pad, _fit(card.url, "Helvetica", 6.5, w - 2 * pad))


def _draw_secret(canvas: Any, secret: str, at: tuple[float, float], width: float, *, largest: float, label: str
                 ) -> float:
    """A label (small bold, on two lines at most: never cut short), then the secret in monospace groups below
    it; returns the secret's baseline."""
    from reportlab.lib.utils import simpleSplit  # noqa: PLC0415

    (x, label_y), groups = at, secret.split("-")
    font_size = min(largest, width / (0.6 * (len("".join(groups)) + 1.5 * (len(groups) - 1))))
    canvas.setFont("Helvetica-Bold", 6.5)
    lines = simpleSplit(label, "Helvetica-Bold", 6.5, width)
    lines = [*lines[:1], _fit(" ".join(lines[1:]), "Helvetica-Bold", 6.5, width)] if len(lines) > 1 else lines
    for i, line in enumerate(lines):
        canvas.drawString(x, label_y - 7.5 * i, line)
    baseline = label_y - 7.5 * (len(lines) - 1) - font_size - 2
    canvas.setFont("Courier-Bold", font_size)
    gx = x
    for group in groups:
        canvas.drawString(gx, baseline, group)
        gx += 0.6 * font_size * (len(group) + 1.5)
    return baseline


def _draw_qr(canvas: Any, matrix: Matrix, origin: tuple[float, float], size: float) -> None:
    """The modules as one filled path, a rectangle per horizontal run of dark modules (a few times fewer
    drawing operators than one per module: 1,700 cards render in seconds)."""
    (x, y), module = origin, size / len(matrix)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + 1) * module
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # A hair of overlap so no white seams show between rows in some viewers.
            path.rect(x + start * module, top, (c - start) * module, module + 0.05)
    canvas.drawPath(path, stroke=0, fill=1)


def _fit(text: str, font: str, size: float, width: float) -> str:
    from reportlab.pdfbase.pdfmetrics import stringWidth  # noqa: PLC0415

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"

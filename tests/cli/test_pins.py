"""caucus pins: credentials issued once into 0600 files (CSV and QR cards), stored as argon2id hashes only;
rotate and revoke; refusals exit 2."""

from __future__ import annotations

import csv
import signal
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine, select

from caucus.ledger import audit_events, make_engine, verify_credential, verify_hotline_code
from caucus.ledger.schema import credentials
from caucus.pins import BadBaseUrl, chair_url, check_base_url, issue_all, qr_matrix
from tests.cli.support import (
    EXAMPLE_CODES,
    db_url,
    ok,
    pdf_content,
    qr_runs_expected,
    qr_runs_in_pdf,
    run,
    write_example_plan,
)

HANDFUL = ("Adair/01NW", "Adair/02NE", "Polk/ALLEN 1", "CD1 Satellite/1140")
FAST = ("--hash-cost", "test")
URL = ("--base-url", "https://results.example-party.org")


@pytest.fixture
def ia(tmp_path: Path) -> str:
    """The database URL of an election ``ia`` on the bundled plan."""
    url = db_url(tmp_path)
    ok("init", "ia", "--database", url)
    return url


@pytest.fixture
def ex(tmp_path: Path) -> str:
    """The database URL of an election ``ex`` on the docs' example plan (four precincts)."""
    url = db_url(tmp_path)
    ok("init", "ex", "--plan", write_example_plan(tmp_path / "plan"), "--database", url)
    return url


EngineOf = Callable[[str], Engine]


@pytest.fixture
def engine_of() -> Iterator[EngineOf]:
    """Engines on database URLs, disposed of after the test."""
    engines: list[Engine] = []

    def make(url: str) -> Engine:
        engines.append(make_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_issue_writes_each_credential_once_to_0600_csv_and_cards(ia: str, tmp_path: Path, engine_of: EngineOf) -> None:
    out = tmp_path / "cards"
    codes = [a for code in HANDFUL[:3] for a in ("--precinct", code)]
    result = ok("pins", "ia", "issue", *codes, "-p", HANDFUL[3], "--out", out, "--base-url", "https://r.example.org/",
                *FAST, "--database", ia)
    assert result.stdout.splitlines() == [str(out / "credentials.csv"), str(out / "credentials.pdf")]
    assert "issued 4 credentials" in result.stderr
    rows = _rows(out / "credentials.csv")
    assert [r["code"] for r in rows] == list(HANDFUL)
    assert rows[3] == {**rows[3], "county": "CD1 Satellite",
                       "name": "Cedar Rapids, IA - Cedar Rapids Public Library, Whipple Auditorium",
                       "chair_url": "https://r.example.org/chair?precinct=CD1%20Satellite%2F1140"}
    assert list(rows[0]) == ["code", "county", "name", "credential", "hotline_code", "chair_url"]
    engine = engine_of(ia)
    for row in rows:
        assert verify_credential(engine, "ia", row["code"], row["credential"])
        assert verify_hotline_code(engine, "ia", row["code"], row["hotline_code"])
        assert len(row["hotline_code"]) == 14 and row["hotline_code"].count("-") == 2  # XXXX-XXXX-XXXX
        # each secret does its own job only
        assert not verify_credential(engine, "ia", row["code"], row["hotline_code"])
        assert not verify_hotline_code(engine, "ia", row["code"], row["credential"])
        assert unquote(row["chair_url"].split("precinct=")[1]) == row["code"]
    assert not verify_credential(engine, "ia", "Adair/03SW", rows[0]["credential"])  # not issued
    for name in ("credentials.csv", "credentials.pdf"):
        assert _mode(out / name) == 0o600
    pdf = (out / "credentials.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    content = pdf_content(pdf)
    for row in rows:  # both secrets in their groups, and the chair address, on each card
        assert all(f"({group})".encode() in content for group in row["credential"].split("-"))
        assert all(f"({group})".encode() in content for group in row["hotline_code"].split("-"))
        assert row["chair_url"].encode() in content
    # the warnings in full (a label too long for one line wraps, never cut short), as PDFium reads the page
    document = pdfium.PdfDocument(pdf)
    try:
        text = " ".join(document[0].get_textpage().get_text_range().split())
    finally:
        document.close()
    assert text.count("APP CREDENTIAL: type it into the chair app. Never read it aloud, not even to the "
                      "hotline.") == 4, text
    assert text.count("HOTLINE CODE: read it to the hotline operator. It cannot sign in to the app.") == 4, text
    assert "…" not in text
    # Only argon2id hashes are stored; no credential appears anywhere in the database files.
    with engine.connect() as conn:
        hashes = [h for row in conn.execute(select(credentials.c.secret_hash, credentials.c.hotline_hash)) for h in row]
    assert len(hashes) == 8 and all(h.startswith("$argon2id$v=19$m=8,t=1,p=1$") for h in hashes)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
    for row in rows:
        for secret in (row["credential"], row["hotline_code"]):
            assert secret.encode() not in stored and secret.replace("-", "").encode() not in stored
    events = [e for e in audit_events(engine, "ia") if e.action == "credential.issue"]
    assert [e.detail["precinct"] for e in events] == list(HANDFUL)


def test_a_cards_qr_code_is_the_chair_address_and_not_the_credential(ex: str, tmp_path: Path) -> None:
    ok("pins", "ex", "issue", "-p", "Satellite/9001", "--out", tmp_path / "o", *FAST, "--insecure-url",
       "--database", ex)
    (row,) = _rows(tmp_path / "o" / "credentials.csv")
    url = chair_url("http://127.0.0.1:8000", "Satellite/9001")
    assert row["chair_url"] == url == "http://127.0.0.1:8000/chair?precinct=Satellite%2F9001"
    drawn = qr_runs_in_pdf(pdf_content((tmp_path / "o" / "credentials.pdf").read_bytes()))
    # No QR decoder is installed: check instead that the page draws, module for module, the QR code that the
    # qrcode library makes for the chair address (and so not one for anything holding the credential).
    assert drawn == qr_runs_expected(qr_matrix(url))
    assert drawn != qr_runs_expected(qr_matrix(f"{url}&credential={row['credential']}"))


def test_issue_for_every_precinct_with_a_thread_pool_and_the_production_cost(ex: str, tmp_path: Path,
                                                                              engine_of: EngineOf) -> None:
    result = ok("pins", "ex", "issue", "--out", tmp_path / "all", "--workers", "2", "--paper", "a4", *URL,
                "--database", ex)
    assert "issued 4 credentials" in result.stderr and "2 hashing threads, production cost" in result.stderr
    rows = _rows(tmp_path / "all" / "credentials.csv")
    assert [r["code"] for r in rows] == list(EXAMPLE_CODES)
    assert rows[1]["name"] == "North Ward 2 &amp; Township"  # as the plan writes it; the card shows "&"
    assert b"(North Ward 2 & Township)" in pdf_content((tmp_path / "all" / "credentials.pdf").read_bytes())
    engine = engine_of(ex)
    assert all(verify_credential(engine, "ex", r["code"], r["credential"].lower()) for r in rows)
    with engine.connect() as conn:
        hashes = list(conn.execute(select(credentials.c.secret_hash)).scalars())
    assert all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in hashes)  # the default is production


def test_issue_refuses_to_overwrite_files_or_replace_credentials(ex: str, tmp_path: Path, engine_of: EngineOf) -> None:
    out = tmp_path / "o"
    ok("pins", "ex", "issue", "--out", out, *FAST, *URL, "--database", ex)
    first = _rows(out / "credentials.csv")
    engine = engine_of(ex)
    issued = len(audit_events(engine, "ex"))

    again = run("pins", "ex", "issue", "--out", out, *FAST, *URL, "--database", ex)
    assert again.exit_code == 2
    assert "credentials.csv" in again.stderr and "already exist; credentials are written once" in again.stderr
    elsewhere = run("pins", "ex", "issue", "--out", tmp_path / "o2", *FAST, *URL, "--database", ex)
    assert elsewhere.exit_code == 2
    assert "4 precincts already have a credential ('North/1', 'North/2', 'South/1', ...)" in elsewhere.stderr
    assert not (tmp_path / "o2").exists()
    assert len(audit_events(engine, "ex")) == issued
    assert all(verify_credential(engine, "ex", r["code"], r["credential"]) for r in first)

    unknown = run("pins", "ex", "issue", "-p", "North/9", "--out", tmp_path / "o3", *FAST, *URL, "--database", ex)
    assert (unknown.exit_code, "election 'ex' has no precinct 'North/9'" in unknown.stderr) == (2, True)
    no_election = run("pins", "nope", "issue", "--out", tmp_path / "o3", *FAST, *URL, "--database", ex)
    assert (no_election.exit_code, "no election with slug 'nope'" in no_election.stderr) == (2, True)

    ok("pins", "ex", "issue", "--out", out, "--reissue", "--force", *FAST, *URL, "--database", ex)
    second = _rows(out / "credentials.csv")
    assert _mode(out / "credentials.csv") == _mode(out / "credentials.pdf") == 0o600
    for old, new in zip(first, second, strict=True):
        assert not verify_credential(engine, "ex", old["code"], old["credential"])
        assert verify_credential(engine, "ex", new["code"], new["credential"])


def test_rotate_replaces_one_credential_and_revoke_ends_it(ex: str, tmp_path: Path, engine_of: EngineOf) -> None:
    ok("pins", "ex", "issue", "--out", tmp_path / "o", *FAST, *URL, "--database", ex)
    old = {r["code"]: r["credential"] for r in _rows(tmp_path / "o" / "credentials.csv")}
    old_hotline = {r["code"]: r["hotline_code"] for r in _rows(tmp_path / "o" / "credentials.csv")}
    # the code as a person types it names the precinct
    result = ok("pins", "ex", "rotate", " satellite/9001", "--out", tmp_path / "r", *FAST, *URL, "--database", ex)
    files = [tmp_path / "r" / "credential-Satellite-9001.csv", tmp_path / "r" / "credential-Satellite-9001.pdf"]
    assert result.stdout.splitlines() == list(map(str, files))
    assert all(_mode(f) == 0o600 for f in files) and files[1].read_bytes().startswith(b"%PDF-")
    (row,) = _rows(files[0])
    engine = engine_of(ex)
    assert not verify_credential(engine, "ex", "Satellite/9001", old["Satellite/9001"])
    assert not verify_hotline_code(engine, "ex", "Satellite/9001", old_hotline["Satellite/9001"])
    assert verify_credential(engine, "ex", "Satellite/9001", row["credential"])
    assert verify_hotline_code(engine, "ex", "Satellite/9001", row["hotline_code"])
    assert verify_credential(engine, "ex", "North/1", old["North/1"])  # the others are untouched
    assert run("pins", "ex", "rotate", "Satellite/9001", "--out", tmp_path / "r", *FAST, *URL,
               "--database", ex).exit_code == 2
    assert run("pins", "ex", "rotate", "North/9", "--out", tmp_path / "r", *URL, "--database", ex).exit_code == 2

    revoked = ok("pins", "ex", "revoke", "Satellite/9001", "--database", ex)
    assert "revoked the credential and hotline code of Satellite/9001" in revoked.stderr
    assert not verify_credential(engine, "ex", "Satellite/9001", row["credential"])
    assert not verify_hotline_code(engine, "ex", "Satellite/9001", row["hotline_code"])
    assert "no active credential" in ok("pins", "ex", "revoke", "Satellite/9001", "--database", ex).stderr
    assert run("pins", "ex", "revoke", "North/9", "--database", ex).exit_code == 2
    actions = [(e.action, e.outcome) for e in audit_events(engine, "ex")][-3:]
    assert actions == [("credential.issue", "ok"), ("credential.revoke", "ok"), ("credential.revoke", "none-active")]


def test_the_same_credential_works_in_test_and_live_mode(ex: str, tmp_path: Path, engine_of: EngineOf) -> None:
    ok("pins", "ex", "issue", "-p", "North/1", "--out", tmp_path / "o", *FAST, *URL, "--database", ex)
    (row,) = _rows(tmp_path / "o" / "credentials.csv")
    engine = engine_of(ex)
    assert verify_credential(engine, "ex", "North/1", row["credential"])
    with sqlite3.connect(tmp_path / "data" / "caucus.db") as conn:  # the election goes live
        conn.execute("UPDATE elections SET mode = 'live' WHERE slug = 'ex'")
    assert verify_credential(engine, "ex", "North/1", row["credential"])


def test_issue_all_keeps_what_was_issued_when_a_chunk_fails() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def issue(codes: list[str]) -> dict[str, str]:
        if "bad" in codes:
            raise RuntimeError("database is locked")
        return {code: f"secret-{code}" for code in codes}

    def progress(n: int) -> None:
        with lock:
            seen.append(n)

    codes = [f"p{i}" for i in range(10)] + ["bad"] + [f"q{i}" for i in range(5)]
    result = issue_all(issue, codes, workers=3, chunk_size=4, progress=progress)
    assert list(result.secrets) == [c for c in codes if c not in {"p8", "p9", "bad", "q0"}]
    assert result.failed == dict.fromkeys(["p8", "p9", "bad", "q0"], "RuntimeError: database is locked")
    assert sorted(seen) == [4, 4, 4] and not result.interrupted


def test_issue_all_on_ctrl_c_returns_what_was_issued() -> None:
    """Ctrl-C reaches the main thread while the pool works (delivered to it, as the terminal does, not to
    whichever thread the kernel picks: a signal taken by a worker is only seen when the main thread wakes)."""
    seen = threading.Event()

    def ctrl_c(signum: int, frame: object) -> None:
        seen.set()
        raise KeyboardInterrupt

    def issue(codes: list[str]) -> dict[str, str]:
        if codes == ["stop"]:
            signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C while the pool works
            assert seen.wait(30)
        time.sleep(0.05)
        return {code: f"secret-{code}" for code in codes}

    main = threading.main_thread().ident or 0
    codes = ["a", "stop", *(f"later{i}" for i in range(20))]
    before = signal.signal(signal.SIGINT, ctrl_c)
    try:
        result = issue_all(issue, codes, workers=1, chunk_size=1)
    finally:
        signal.signal(signal.SIGINT, before)
    assert result.interrupted
    assert {"a", "stop"} <= result.secrets.keys()
    assert result.secrets.keys() | result.failed.keys() == set(codes)
    assert not result.secrets.keys() & result.failed.keys()
    assert set(result.failed.values()) == {"interrupted before it was issued"}
    assert len(result.failed) >= 15  # the chunks not yet started were cancelled


@pytest.mark.parametrize(("args", "says"), [
    ((), "no --base-url: the cards' QR codes must point to the chair app over HTTPS: give --base-url https://HOST "
         "(or set CAUCUS_CARDS_BASE_URL); for a rehearsal on this machine only, --insecure-url prints cards for "
         "http://127.0.0.1:8000"),
    (("--base-url", "http://results.example-party.org"), "is http://, which sends the chair's credential in clear"),
    (("--base-url", "javascript:alert(document.cookie)"), "is not a web address (scheme javascript:)"),
    (("--base-url", "data:text/html,<script>x</script>"), "is not a web address (scheme data:)"),
    (("--base-url", "/chair"), "is not a web address (scheme missing)"),
    (("--base-url", "results.example-party.org"), "is not a web address (scheme missing)"),
    (("--base-url", "https://"), "names no host"),
    (("--base-url", "https://evil.example@results.example-party.org"), "carries a user name or password"),
    (("--base-url", "https://results.example-party.org/?next=evil"), "has a query or fragment"),
    (("--base-url", "https://results.example-party.org:99999"), "has a bad port"),
    (("--base-url", "https://results.example-party.org/ chair"), "contains spaces or control characters"),
    (("--base-url", "javascript:alert(1)", "--insecure-url"), "is not a web address (scheme javascript:)"),
])
def test_cards_point_only_to_an_https_chair_app(ex: str, tmp_path: Path, engine_of: EngineOf, args: tuple[str, ...],
                                                says: str) -> None:
    for command in (("issue",), ("rotate", "North/1")):
        refused = run("pins", "ex", *command, "--out", tmp_path / "o", *FAST, *args, "--database", ex)
        assert refused.exit_code == 2 and says in " ".join(refused.stderr.split()), refused.stderr
        assert "--base-url" in refused.stderr
    assert not (tmp_path / "o").exists()
    with engine_of(ex).connect() as conn:
        assert conn.execute(select(credentials.c.id)).first() is None  # nothing issued


def test_an_http_address_only_with_insecure_url(ex: str, tmp_path: Path) -> None:
    result = ok("pins", "ex", "issue", "-p", "North/1", "--out", tmp_path / "o", *FAST, "--insecure-url",
                "--base-url", "http://192.168.1.20:8000/", "--database", ex)
    assert "--insecure-url: cards point to http://192.168.1.20:8000; for a rehearsal only" in result.stderr
    (row,) = _rows(tmp_path / "o" / "credentials.csv")
    assert row["chair_url"] == "http://192.168.1.20:8000/chair?precinct=North%2F1"


@pytest.mark.parametrize(("given", "used"), [
    ("https://results.example-party.org", "https://results.example-party.org"),
    ("  HTTPS://Results.Example-Party.org/caucus/ ", "https://Results.Example-Party.org/caucus"),
    ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
])
def test_a_good_address_is_kept_as_given(given: str, used: str) -> None:
    assert check_base_url(given) == used
    with pytest.raises(BadBaseUrl, match="over HTTPS"):
        check_base_url(used.replace("https://", "http://"))

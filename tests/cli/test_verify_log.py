"""caucus verify (the hash chain; exit 1 naming the first bad seq) and caucus log (the audit events)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caucus.ledger import Ledger, Submission, entries, make_engine
from tests.cli.support import db_url, ok, run, write_example_plan


def _submit(url: str, slug: str, n: int) -> str:
    """Record ``n`` reports through the ledger's writer; return the head hash."""
    engine = make_engine(url)
    try:
        with Ledger(engine) as ledger:
            for i in range(1, n + 1):
                ledger.submit(Submission(election=slug, precinct_code="North/1" if i % 2 else "South/1",
                                         channel="app", stage="first", payload={"Able": 10 + i, "Baker": 7},
                                         actor="chair:test", idempotency_key=f"{slug}-{i}"))
        return entries(engine, slug)[-1].content_hash
    finally:
        engine.dispose()


def _tamper(tmp_path: Path, slug: str, seq: int) -> None:
    """Change one stored payload, as someone with the database file could: drop the trigger first."""
    with sqlite3.connect(tmp_path / "data" / "caucus.db") as conn:
        conn.execute("DROP TRIGGER ledger_entries_no_update")
        changed = conn.execute("UPDATE ledger_entries SET payload = '{\"Able\":99,\"Baker\":7}' WHERE seq = ? AND "
                               "election_id = (SELECT id FROM elections WHERE slug = ?)", (seq, slug)).rowcount
    assert changed == 1


@pytest.fixture
def url(tmp_path: Path) -> str:
    """Two elections on the example plan, ``one`` and ``two``, with three reports each."""
    database = db_url(tmp_path)
    plan = write_example_plan(tmp_path / "plan")
    for slug in ("one", "two"):
        ok("init", slug, "--plan", plan, "--database", database)
        _submit(database, slug, 3)
    return database


def test_verify_an_honest_ledger(url: str) -> None:
    engine = make_engine(url)
    heads = {slug: entries(engine, slug)[-1].content_hash for slug in ("one", "two")}
    engine.dispose()
    # the entries were written through the bare ledger API: their precincts' status rows are stale (derived on
    # read), which is not a difference
    assert ok("verify", "one", "--database", url).stdout.splitlines() == [
        f"one: OK, 3 entries checked, head hash {heads['one']}",
        "one: precinct status OK, 2 rows for 4 precincts equal the ledger (2 stale, derived on read)"]
    assert ok("verify", "--database", url).stdout.splitlines()[:2] == [
        f"{slug}: OK, 3 entries checked, head hash {head}" for slug, head in heads.items()]
    doc = json.loads(ok("verify", "two", "--json", "--database", url).stdout)
    assert {key: doc[key] for key in ("schema", "ok", "elections")} == {
        "schema": "caucus.verify/1", "ok": True, "elections": [
            {"election": "two", "ok": True, "entries_checked": 3, "head_hash": heads["two"], "first_bad_seq": None,
             "problem": None}]}
    assert doc["precinct_status"] == [{"election": "two", "checked": True, "ok": True, "precincts": 4, "rows": 2,
                                       "stale": 2, "differing": 0}]


def test_verify_finds_a_tampered_payload_and_exits_1(url: str, tmp_path: Path) -> None:
    _tamper(tmp_path, "two", 2)
    broken = run("verify", "two", "--database", url)
    assert broken.exit_code == 1
    assert broken.stdout.startswith("two: BROKEN at seq 2: content hash ")
    assert "(2 entries checked; last good hash " in broken.stdout
    every = run("verify", "--database", url)
    assert every.exit_code == 1
    assert [line.split(",")[0].split(" at ")[0] for line in every.stdout.splitlines()[:2]] == ["one: OK", "two: BROKEN"]
    doc = json.loads(run("verify", "--json", "--database", url).stdout)
    assert doc["ok"] is False
    assert [(e["election"], e["ok"], e["first_bad_seq"]) for e in doc["elections"]] == [("one", True, None),
                                                                                          ("two", False, 2)]
    assert run("verify", "one", "--database", url).exit_code == 0


def test_verify_usage_errors_exit_2(url: str, tmp_path: Path) -> None:
    unknown = run("verify", "nope", "--database", url)
    assert (unknown.exit_code, unknown.stderr.strip()) == (
        2, "error: no election with slug 'nope' in this database; it has one, two")
    for command in (["log", "nope"], ["state", "check", "nope"], ["state", "rebuild", "nope"],
                    ["release", "list", "--election", "nope"], ["election", "go-live", "nope", "--yes"],
                    ["pins", "nope", "revoke", "North/1"]):
        wrong = run(*command, "--database", url)
        assert (wrong.exit_code, wrong.stderr.strip()) == (
            2, "error: no election with slug 'nope' in this database; it has one, two"), command
    # without a name: a database of two elections asks which (state check took no default at all)
    several = run("state", "check", "--database", url)
    assert (several.exit_code, "has 2 elections: one, two; choose one" in several.stderr) == (2, True)
    # a database that does not exist (a mistyped --database) is an error, and is not created
    missing = run("verify", "--database", db_url(tmp_path / "typo"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr and "caucus init" in missing.stderr
    assert not (tmp_path / "typo").exists()
    for command in (["log"], ["state", "check", "one"], ["release", "list", "--election", "one"]):
        refused = run(*command, "--database", db_url(tmp_path / "typo"))
        assert refused.exit_code == 2 and "no such file" in refused.stderr, (command, refused.stderr)
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty" / "data").mkdir(parents=True)
    sqlite3.connect(tmp_path / "empty" / "data" / "caucus.db").close()  # an existing database, no elections
    empty = ok("verify", "--database", db_url(tmp_path / "empty"))
    assert (empty.stdout, empty.stderr.strip()) == ("", "no elections in this database")


def test_log_lists_the_audit_events(url: str, tmp_path: Path) -> None:
    ok("pins", "one", "issue", "-p", "North/1", "-p", "South/1", "--out", tmp_path / "o", "--hash-cost", "test",
       "--base-url", "https://results.example-party.org", "--database", url)
    lines = ok("log", "one", "--json", "--database", url).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["action"], e["outcome"]) for e in events] == [("election.create", "ok"), ("credential.issue", "ok"),
                                                             ("credential.issue", "ok")]
    assert [e["detail"].get("precinct") for e in events[1:]] == ["North/1", "South/1"]
    assert {e["election"] for e in events} == {"one"} and all(e["actor"].startswith("cli:") for e in events)
    assert set(events[0]) == {"id", "election", "at", "actor", "action", "outcome", "detail"}

    table = ok("log", "one", "--database", url).stdout
    assert "Audit log (3 events; times in America/Chicago)" in table and table.count("credential.issue") == 2
    # one election's log is in its plan's local time (America/Chicago), as every time shown to people
    first = datetime.fromisoformat(events[0]["at"]).astimezone(ZoneInfo("America/Chicago"))
    assert f"{first:%Y-%m-%d %H:%M:%S} {first.tzname()}" in table
    # 80 columns (the CliRunner's width here): one paragraph per event, its time, action, outcome and actor on
    # one line, never folded into a column a few letters wide; the details indented below
    lines = table.splitlines()
    heads = [line for line in lines if line.startswith(f"{first:%Y-%m-%d}")]
    assert len(heads) == 3 and all(len(line) <= 80 for line in heads), lines
    assert heads[1].split("  ")[1:3] == ["credential.issue", "ok"] and heads[1].endswith(f"by {events[1]['actor']}")
    detail = lines[lines.index(heads[1]) + 1]
    assert detail.startswith("    ") and "precinct=North/1" in detail
    everything = ok("log", "--json", "--database", url).stdout.splitlines()
    assert len(everything) == 4  # two election.create, two credential.issue
    last = ok("log", "--limit", "1", "--json", "--database", url).stdout.splitlines()
    assert [json.loads(line)["action"] for line in last] == ["credential.issue"]
    assert ok("log", "--since", "2999-01-01", "--json", "--database", url).stdout == ""
    since = ok("log", "one", "--since", events[1]["at"], "--json", "--database", url).stdout.splitlines()
    assert len(since) == 2
    bad = run("log", "--since", "yesterday", "--database", url)
    assert (bad.exit_code, "is not an ISO 8601 date" in bad.stderr) == (2, True)
    assert run("log", "nope", "--database", url).exit_code == 2


def test_deleting_the_newest_entries_is_caught_only_against_a_published_head(url: str, tmp_path: Path) -> None:
    published = json.loads(ok("verify", "one", "--json", "--database", url).stdout)["elections"][0]
    head = f"3:{published['head_hash']}"
    assert ok("verify", "one", "--expect-head", head, "--database", url).stdout.startswith("one: OK, 3 entries")
    with sqlite3.connect(tmp_path / "data" / "caucus.db") as conn:
        conn.execute("DROP TRIGGER ledger_entries_no_delete")
        conn.execute("DELETE FROM ledger_entries WHERE seq = 3 AND election_id = "
                     "(SELECT id FROM elections WHERE slug = 'one')")
    assert ok("verify", "one", "--database", url).stdout.startswith("one: OK, 2 entries checked")  # still a chain
    cut = run("verify", "one", "--expect-head", head, "--database", url)
    assert cut.exit_code == 1
    assert cut.stdout.startswith("one: BROKEN at seq 3: the published head is entry #3, but the ledger ends at "
                                 "entry #2: entries were deleted")
    assert run("verify", "one", "--expect-head", "3:abc", "--database", url).exit_code == 2
    assert run("verify", "--expect-head", head, "--database", url).exit_code == 2


def test_log_prints_structured_details_as_json_not_python(url: str) -> None:
    """A detail holding a mapping, a list, null or a boolean reads as JSON on the terminal, not as a Python repr
    ({'Able': 1}, None, True) that a reader would have to translate."""
    from caucus.ledger.audit import record  # noqa: PLC0415

    engine = make_engine(url)
    with engine.begin() as conn:
        record(conn, election_id=None, at=datetime(2028, 2, 7, 20, 0, tzinfo=ZoneInfo("UTC")), actor="hq:rita",
               action="review.accept", outcome="ok",
               detail={"precinct": "North/1", "counts": {"Able": 1, "Baker": 2}, "among": ["Able", "Baker"],
                       "note": None, "confirmed": True})
    engine.dispose()
    text = ok("log", "--limit", "1", "--database", url).stdout
    assert ('among=["Able", "Baker"], confirmed=true, counts={"Able": 1, "Baker": 2}, note=null, precinct=North/1'
            in " ".join(line.strip() for line in text.splitlines())), text

"""The ledger anchored in every release: ``caucus verify --against-release`` after a real release catches the
newest entries deleted, an entry rewritten and every later hash recomputed, and a forged entry appended
after the release (each of which ``caucus verify`` alone passes); ``verify-release --expect-manifest``
catches a release whose photo and manifest were both replaced. SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text
from typer.testing import CliRunner

from caucus.cli import app
from caucus.ledger import canonical_json, verify_chain
from caucus.ledger.chain import entry_hash
from caucus.ledger.epochs import start_epoch
from caucus.ledger.schema import ledger_entries, precincts
from caucus.publish.model import json_bytes
from caucus.service import StageReport
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, rehash_release, report, scripts

runner = CliRunner()


def _verify(night: Night, *sources: str, slug: str | None = SLUG, as_json: bool = False) -> tuple[int, str, str]:
    args = ["verify", *([slug] if slug else []), "--database", night.url, *(["--json"] if as_json else [])]
    for source in sources:
        args += ["--against-release", source]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def _stages(counties: list[str]) -> int:
    return sum(len(s.stages) for s in scripts(counties))


def _night_with_a_release(night: Night) -> int:
    """Adams' precincts reported and released; the number of entries (the head the release must publish)."""
    for script in scripts(["Adams"]):
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=5)
    night.releases.release(actor="director:dee", note="first returns")
    return _stages(["Adams"])


def _manifest(night: Night, number: int) -> dict[str, object]:
    return dict(json.loads((night.snapshots / "releases" / str(number) / "manifest.json").read_bytes()))


def _tamper(engine: Engine) -> Connection:
    """A connection in a transaction with the ledger's append-only triggers out of the way, as the database's
    administrator could (the caller commits)."""
    conn = engine.connect()
    conn.begin()
    if engine.dialect.name == "sqlite":
        for event in ("update", "delete"):
            conn.exec_driver_sql(f"DROP TRIGGER ledger_entries_no_{event}")
    else:
        conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    return conn


def _rehash(conn: Connection, from_seq: int) -> None:
    """Recompute every hash from entry ``from_seq`` on, as a forger with the software would."""
    rows = list(conn.execute(select(ledger_entries, precincts.c.code.label("precinct_code"))
                             .join(precincts, precincts.c.id == ledger_entries.c.precinct_id)
                             .where(ledger_entries.c.seq >= from_seq - 1).order_by(ledger_entries.c.seq)))
    prev = rows[0].content_hash if from_seq > 1 else "0" * 64
    for row in rows[1:] if from_seq > 1 else rows:
        digest = entry_hash(election=SLUG, seq=row.seq, precinct_code=row.precinct_code, channel=row.channel,
                            stage=row.stage, payload_json=row.payload, actor=row.actor,
                            idempotency_key=row.idempotency_key, received_at=row.received_at,
                            supersedes_seq=row.supersedes_seq, reason=row.reason, prev_hash=prev,
                            correction_id=row.correction_id)
        conn.execute(ledger_entries.update().where(ledger_entries.c.election_id == row.election_id,
                                                   ledger_entries.c.seq == row.seq)
                     .values(prev_hash=prev, content_hash=digest))
        prev = digest


def test_an_untampered_ledger_holds_every_published_head_across_a_go_live(night: Night) -> None:
    night.releases.release(actor="director:dee", zero=True)  # before any entry: the head is the genesis
    assert _manifest(night, 1)["ledgerHead"] == {"seq": 0, "hash": "0" * 64}
    night.clock.advance(minutes=1)
    head = _night_with_a_release(night)
    published = _manifest(night, 2)["ledgerHead"]
    assert published == {"seq": head, "hash": verify_chain(night.engine, SLUG).head_hash}
    release_json = json.loads((night.snapshots / "releases" / "2" / "release.json").read_bytes())
    assert release_json["ledgerHead"] == published
    precincts_json = json.loads((night.snapshots / "releases" / "2" / "feed" / "precincts.json").read_bytes())
    released = [p for p in precincts_json["precincts"] if p["reported"]]
    assert len(released) == len(scripts(["Adams"]))
    for summary in released:  # every entry the release derives from is at or before its head
        record = json.loads((night.snapshots / "releases" / "2" / "feed" / "precinct" / f"{summary['slug']}.json")
                            .read_bytes())
        assert 0 < record["ledgerSeq"] <= head
    # the rehearsal's releases are archived by the go-live; the chain spans epochs, so the live release's
    # head counts the rehearsal's entries and the archived heads still check
    start_epoch(night.engine, SLUG, "go-live", actor="director:dee", now=night.clock.advance(minutes=1))
    night.releases.archive_rehearsal()
    night.clock.advance(minutes=1)
    report(night.reports, all_scripts()[GRINNELL], night.clock, prefix="live")
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    live = head + len(all_scripts()[GRINNELL].stages)
    assert _manifest(night, 3)["ledgerHead"]["seq"] == live  # type: ignore[index]
    # entries after the newest release, dated after it: late reports, not a tamper
    night.clock.advance(minutes=1)
    report(night.reports, scripts(["Adair"])[0], night.clock, prefix="late")
    code, stdout, stderr = _verify(night, str(night.snapshots))
    assert code == 0, stdout + stderr
    for number, seq in ((1, 0), (2, head), (3, live)):
        assert f"release {number} of {SLUG} (" in stdout and f"OK, the ledger holds its head #{seq} " in stdout
    assert (night.snapshots / "archive" / "releases" / "1").is_dir()


def test_deleting_the_newest_entries_is_caught(night: Night) -> None:
    head = _night_with_a_release(night)
    with _tamper(night.engine) as conn:
        conn.execute(ledger_entries.delete().where(ledger_entries.c.seq > head - 2))
        conn.commit()
    code, stdout, _ = _verify(night)
    assert code == 0 and f"OK, {head - 2} entries checked" in stdout  # the chain alone cannot see a cut tail
    code, stdout, _ = _verify(night, str(night.snapshots / "releases" / "1"))
    assert code == 1
    assert (f"FAIL release 1 of {SLUG} ({night.snapshots / 'releases' / '1'}) published ledger head #{head}, but "
            f"the ledger ends at entry #{head - 2}: entries were deleted") in stdout
    # refilled to the same length with other entries (through the real service): the hash at the head differs
    night.clock.advance(minutes=1)
    night.reports.submit(GRINNELL, StageReport("attendance", {"attendance": 299}), "refill-1", channel="app",
                         actor="chair:Poweshiek/7")
    night.reports.submit("Poweshiek/2", StageReport("attendance", {"attendance": 300}), "refill-2", channel="app",
                         actor="chair:Poweshiek/2")
    code, stdout, _ = _verify(night, str(night.snapshots))
    assert code == 1 and f"entry #{head} now has hash" in stdout and f"entries up to #{head} were rewritten" in stdout


def test_rewriting_one_entry_and_every_later_hash_is_caught(night: Night) -> None:
    head = _night_with_a_release(night)
    with _tamper(night.engine) as conn:
        payload = conn.execute(select(ledger_entries.c.payload).where(ledger_entries.c.seq == 2)).scalar_one()
        document = json.loads(payload)
        counts = document.get("counts", document)
        name = sorted(k for k, v in counts.items() if isinstance(v, int))[0]
        counts[name] += 1  # one more for someone
        forged = canonical_json(document)
        assert forged != payload
        conn.execute(ledger_entries.update().where(ledger_entries.c.seq == 2).values(payload=forged))
        _rehash(conn, 2)
        conn.commit()
    code, stdout, _ = _verify(night)
    assert code == 0, stdout  # consistently rehashed: the chain alone verifies
    code, stdout, _ = _verify(night, str(night.snapshots))
    published = _manifest(night, 1)["ledgerHead"]["hash"]  # type: ignore[index]
    assert code == 1
    assert f"FAIL release 1 of {SLUG}" in stdout and f"published ledger head #{head} with hash {published}, " \
        f"but entry #{head} now has hash" in stdout and f"entries up to #{head} were rewritten" in stdout


def test_a_forged_entry_appended_after_a_release_is_caught(night: Night) -> None:
    head = _night_with_a_release(night)
    made = _manifest(night, 1)
    night.clock.advance(minutes=10)
    with night.engine.connect() as conn:
        last = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == head)).one()
        grinnell = conn.execute(select(precincts.c.id).where(precincts.c.code == GRINNELL)).scalar_one()
    # dated a minute before the release, as if HQ had it and left it out; the hash is right (`verify` passes)
    at = last.received_at + timedelta(minutes=1)
    assert at.strftime("%Y-%m-%dT%H:%M:%SZ") < str(made["createdAt"])
    payload = '{"attendance":412}'
    digest = entry_hash(election=SLUG, seq=head + 1, precinct_code=GRINNELL, channel="hotline", stage="attendance",
                        payload_json=payload, actor="hotline:forged", idempotency_key="forged-1", received_at=at,
                        supersedes_seq=None, reason=None, prev_hash=last.content_hash)
    with night.engine.begin() as conn:  # an INSERT: the append-only triggers allow it
        conn.execute(ledger_entries.insert().values(
            election_id=last.election_id, seq=head + 1, precinct_id=grinnell, channel="hotline", stage="attendance",
            payload=payload, actor="hotline:forged", idempotency_key="forged-1", received_at=at,
            content_hash=digest, prev_hash=last.content_hash))
    code, stdout, _ = _verify(night)
    assert f"OK, {head + 1} entries checked" in stdout  # the chain holds
    # but the entry did not come through the writer: the precinct's maintained status no longer matches the ledger
    assert code == 1 and f"precinct status DIFFERS from the ledger at precinct {GRINNELL}" in stdout
    code, stdout, _ = _verify(night, str(night.snapshots))
    assert code == 1
    dated = at.astimezone(UTC).isoformat(timespec="microseconds")
    assert f"FAIL entry #{head + 1} is dated {dated}, before release 1 of " \
        f"{SLUG}" in stdout and f"yet it is after that release's head #{head}: it was added later" in stdout


def test_each_release_is_named_and_any_number_can_be_given(sqlite_night: Night) -> None:
    """Two releases given one by one: only the one whose head was cut fails, and it is named."""
    night = sqlite_night
    first = _night_with_a_release(night)
    night.clock.advance(minutes=1)
    for script in scripts(["Adair"])[:2]:
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    second = first + sum(len(s.stages) for s in scripts(["Adair"])[:2])
    assert _manifest(night, 2)["ledgerHead"]["seq"] == second  # type: ignore[index]
    with _tamper(night.engine) as conn:
        conn.execute(ledger_entries.delete().where(ledger_entries.c.seq > first))
        conn.commit()
    releases = night.snapshots / "releases"
    code, stdout, _ = _verify(night, str(releases / "1"), str(releases / "2"), slug=None, as_json=True)
    assert code == 1
    document = json.loads(stdout)
    assert [(r["release"], r["ok"]) for r in document["releases"]] == [(1, True), (2, False)]
    assert document["releases"][1]["problems"] == [
        f"release 2 of {SLUG} ({releases / '2'}) published ledger head #{second}, but the ledger ends at entry "
        f"#{first}: entries were deleted"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(sqlite_night: Night, tmp_path: Path) -> Iterator[tuple[Night, str]]:
    """The snapshot directory served over real HTTP under /feed/v1/ (as nginx serves it)."""
    root = tmp_path / "site" / "feed"
    root.mkdir(parents=True)
    (root / "v1").symlink_to(sqlite_night.snapshots)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(tmp_path / "site")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sqlite_night, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_against_a_release_over_http(site: tuple[Night, str]) -> None:
    night, base = site
    head = _night_with_a_release(night)
    code, stdout, stderr = _verify(night, base, f"{base}/feed/v1/releases/1")
    assert code == 0, stdout + stderr
    assert stdout.count(f"OK, the ledger holds its head #{head} ") == 2
    with _tamper(night.engine) as conn:
        conn.execute(ledger_entries.delete().where(ledger_entries.c.seq == head))
        conn.commit()
    code, stdout, _ = _verify(night, base)
    assert code == 1 and f"FAIL release 1 of {SLUG} ({base}/feed/v1/releases/1/manifest.json) published " \
        f"ledger head #{head}, but the ledger ends at entry #{head - 1}" in stdout
    code, _, stderr = _verify(night, f"{base}/feed/v1/releases/9")
    assert code == 2 and "cannot read the release" in stderr and "404" in stderr


def test_unreadable_or_foreign_releases_exit_2(sqlite_night: Night, tmp_path: Path) -> None:
    night = sqlite_night
    _night_with_a_release(night)
    code, _, stderr = _verify(night, str(tmp_path / "nowhere"))
    assert code == 2 and "no such directory" in stderr
    (tmp_path / "empty").mkdir()
    code, _, stderr = _verify(night, str(tmp_path / "empty"))
    assert code == 2 and "no release here" in stderr
    code, _, stderr = _verify(night, str(night.snapshots), slug="another-election")
    assert code == 2 and f"release 1 is of election '{SLUG}', not 'another-election'" in stderr
    # a release made before heads were published: nothing to check it against
    old = tmp_path / "old"
    old.mkdir()
    manifest = _manifest(night, 1)
    del manifest["ledgerHead"]
    (old / "manifest.json").write_bytes(json_bytes(manifest))
    code, _, stderr = _verify(night, str(old))
    assert code == 2 and "no release there publishes a ledger head" in stderr
    manifest["ledgerHead"] = {"seq": -1, "hash": "0" * 64}
    (old / "manifest.json").write_bytes(json_bytes(manifest))
    code, _, stderr = _verify(night, str(old))
    assert code == 2 and "ledgerHead must be" in stderr


def _png(shade: int) -> bytes:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGB", (240, 200), (shade, shade, 240)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_expect_manifest_catches_a_rehashed_release_with_a_replaced_photo(sqlite_night: Night) -> None:
    night = sqlite_night
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.photos.store(GRINNELL, data=_png(250), content_type="image/png", channel="app",
                       actor="chair:Poweshiek/7", idempotency_key="photo-1")
    recorded = night.releases.release(actor="director:dee").content_hash
    directory = night.snapshots / "releases" / "1"
    (photo,) = json.loads((directory / "feed" / "precinct" / "poweshiek-7.json").read_bytes())["photos"]
    # the worksheet photo replaced, and the manifest rewritten to match
    (directory / photo["path"]).unlink()
    (directory / photo["path"]).write_bytes(_png(10))
    rehash_release(directory)
    rewritten = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
    assert rewritten != recorded
    result = runner.invoke(app, ["verify-release", str(directory)])
    assert result.exit_code == 0 and ": OK" in result.stdout  # every file matches the (rewritten) manifest
    result = runner.invoke(app, ["verify-release", str(directory), "--expect-manifest", recorded])
    assert result.exit_code == 1
    assert f"FAIL manifest.json: sha256 {rewritten}, but {recorded} was expected (--expect-manifest)" in result.stdout
    result = runner.invoke(app, ["verify-release", str(directory), "--expect-manifest", recorded[:60]])
    assert result.exit_code == 2 and "expected a SHA-256, 64 hex digits" in result.stderr


def test_expect_manifest_passes_the_recorded_release(sqlite_night: Night) -> None:
    night = sqlite_night
    head = _night_with_a_release(night)
    recorded = night.releases.list()[0].content_hash
    result = runner.invoke(app, ["verify-release", str(night.snapshots), "--expect-manifest", recorded.upper()])
    assert result.exit_code == 0, result.stdout
    assert f"ledger head #{head} " in result.stdout and f"manifest sha256 {recorded} (as expected): OK" in \
        result.stdout
    result = runner.invoke(app, ["verify-release", str(night.snapshots), "--json"])
    assert json.loads(result.stdout)["ledger_head"] == _manifest(night, 1)["ledgerHead"]


def test_the_tamper_helpers_really_bypass_the_triggers(sqlite_night: Night) -> None:
    """Without the helper, the database refuses the same delete (so the tamper tests tamper for real)."""
    night = sqlite_night
    _night_with_a_release(night)
    with pytest.raises(Exception, match="ledger is append-only"), night.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq = 1"))

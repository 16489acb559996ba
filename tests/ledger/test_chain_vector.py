"""The ledger hash against a known-answer vector computed outside caucus (tests/vectors/PROVENANCE.md):
hand-written canonical documents hashed with ``sha256sum``. The writer and the verifier share
``entry_hash``, so only a fixed answer catches a change of format, which would break every published head."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from caucus.ledger.chain import GENESIS_HASH, check_rows, entry_hash

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
VECTOR = json.loads((VECTORS / "ledger-chain.json").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = VECTOR["entries"]


def _hash(entry: dict[str, Any]) -> str:
    return entry_hash(election=VECTOR["election"], seq=entry["seq"], precinct_code=entry["precinct"],
                      channel=entry["channel"], stage=entry["stage"], payload_json=entry["payload"],
                      actor=entry["actor"], idempotency_key=entry["idempotency_key"],
                      received_at=datetime.fromisoformat(entry["received_at"]),
                      supersedes_seq=entry["supersedes_seq"], reason=entry["reason"], prev_hash=entry["prev_hash"],
                      correction_id=entry["correction_id"])


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"entry-{e['seq']}")
def test_entry_hash_gives_the_known_answer(entry: dict[str, Any]) -> None:
    assert _hash(entry) == entry["content_hash"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"entry-{e['seq']}")
def test_the_vector_is_what_its_canonical_file_hashes_to(entry: dict[str, Any]) -> None:
    """The vector's own consistency: its hash is the SHA-256 of the hand-written document (by sha256sum when
    the system has it), and that document holds exactly the entry's fields."""
    path = VECTORS / "ledger-chain" / f"entry-{entry['seq']}.json"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["content_hash"]
    if shutil.which("sha256sum"):
        printed = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout
        assert printed.split()[0] == entry["content_hash"]
    document = json.loads(data)
    expected = {"actor": entry["actor"], "channel": entry["channel"], "election": VECTOR["election"],
                "idempotency_key": entry["idempotency_key"], "payload": entry["payload"],
                "precinct": entry["precinct"], "prev_hash": entry["prev_hash"], "reason": entry["reason"],
                "received_at": entry["received_at"], "seq": entry["seq"], "stage": entry["stage"],
                "supersedes_seq": entry["supersedes_seq"]}
    if entry["correction_id"] is not None:
        expected["correction_id"] = entry["correction_id"]
    assert document == expected
    assert list(document) == sorted(document)  # members in code point order, as written


def test_the_vector_is_a_chain_that_verifies_and_its_head_is_the_last_hash() -> None:
    rows = [SimpleNamespace(**{**e, "precinct_code": e["precinct"], "precinct_id": 1,
                               "received_at": datetime.fromisoformat(e["received_at"])}) for e in ENTRIES]
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.content_hash for r in rows[:-1]]
    report = check_rows(VECTOR["election"], rows)
    assert (report.ok, report.entries_checked, report.head_hash) == (True, 3, ENTRIES[-1]["content_hash"])
    rows[1].payload = rows[1].payload.replace("61", "60")  # one vote moved: the chain breaks there
    assert check_rows(VECTOR["election"], rows).first_bad_seq == 2


def test_a_null_correction_id_is_absent_not_null() -> None:
    """Hashing ``"correction_id":null`` would give another answer than the vector's (absent) one."""
    entry = ENTRIES[0]
    path = VECTORS / "ledger-chain" / "entry-1.json"
    with_null = path.read_bytes().replace(b'"channel":"app",', b'"channel":"app","correction_id":null,')
    assert hashlib.sha256(with_null).hexdigest() != entry["content_hash"] == _hash(entry)

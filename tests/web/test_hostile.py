"""Hostile input: every case gets a 4xx with a precise message, never a 5xx, and nothing enters the ledger.

Runs on SQLite and PostgreSQL (PostgreSQL refuses NUL bytes in text: they must be refused before any SQL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from caucus.ledger import entries
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, assert_error, fields_of

JSON = {"Content-Type": "application/json"}


@dataclass
class Case:
    name: str
    body: bytes
    status: int
    code: str
    fields: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # a part the message must contain
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    key: str | None = "hostile-key"


def _j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _first(counts: Any, **extra: Any) -> bytes:
    return _j({"stage": "first", "counts": counts, **extra})


INVALID = "invalid-request"
ONE_MIB = b'{"stage": "attendance", "attendance": 1, "padding": "' + b"x" * (2**20 - 55) + b'"}'
assert len(ONE_MIB) == 2**20
REPORT_CASES = [
    Case("wrong type", _j({"stage": "attendance", "attendance": "many"}), 422, INVALID,
         {"attendance": "not-a-whole-number"}, 'attendance must be a whole number, got "many"'),
    Case("negative", _first({"Sanders": -5}), 422, INVALID, {"counts.Sanders": "too-small"},
         "counts.Sanders must be 0 or more, got -5"),
    Case("huge", _first({"Sanders": 10**9}), 422, INVALID, {"counts.Sanders": "too-large"},
         "counts.Sanders must be at most 100000, got 1000000000"),
    Case("float", _first({"Sanders": 12.5}), 422, INVALID, {"counts.Sanders": "not-a-whole-number"},
         "got 12.5"),
    Case("whole float", _first({"Sanders": 50.0}), 422, INVALID, {"counts.Sanders": "not-a-whole-number"},
         "got 50.0"),
    Case("boolean", _first({"Sanders": True}), 422, INVALID, {"counts.Sanders": "not-a-whole-number"}),
    Case("numeric string", _first({"Sanders": "50"}), 422, INVALID, {"counts.Sanders": "not-a-whole-number"}),
    Case("NaN", b'{"stage": "first", "counts": {"Sanders": NaN}}', 422, INVALID,
         {"counts.Sanders": "not-a-whole-number"}, "got NaN"),
    Case("overflowing float", b'{"stage": "first", "counts": {"Sanders": 1e400}}', 422, INVALID,
         {"counts.Sanders": "not-a-whole-number"}, "got Infinity"),
    Case("too many digits", b'{"stage": "first", "counts": {"Sanders": ' + b"7" * 5000 + b"}}", 422, INVALID,
         {"body": "invalid-json"}, "the body is not valid JSON: a number in it has more than 4300 digits"),
    Case("unknown candidate", _first({"Sanders": 5, "Trump": 3}), 422, "unknown-candidate",
         {"counts.Trump": "unknown-candidate"}, "not a candidate in this election: counts.Trump"),
    Case("look-alike candidate", _first({"S\u0430nders": 5}), 422, "unknown-candidate",
         {"counts.S\u0430nders": "unknown-candidate"}),
    Case("unicode garbage", _first({"\U0001f525\u202e\ufeff\u0301": 1}), 422, "unknown-candidate"),
    Case("null byte in a name", _first({"Sanders\u0000": 5}), 422, INVALID, {"counts.Sanders\u0000": "invalid-value"},
         "must not contain control characters such as U+0000"),
    Case("lone surrogate", b'{"stage": "first", "counts": {"\\ud800": 5}}', 422, INVALID,
         {"counts.\ufffd\ufffd\ufffd": "invalid-value"}, "must be valid Unicode text (it has an unpaired surrogate)"),
    Case("null byte in a reason", _j({"stage": "attendance", "attendance": 5, "supersedes_seq": 1,
                                      "reason": "oops\u0000"}), 422, INVALID, {"reason": "invalid-value"}),
    Case("another precinct", _j({"stage": "attendance", "attendance": 5, "precinct": "Nowhere/1"}), 403,
         "wrong-precinct", {"precinct": "wrong-precinct"}, "it cannot report for Nowhere/1"),
    Case("extra field", _j({"stage": "attendance", "attendance": 5, "admin": True}), 422, INVALID,
         {"admin": "unknown-field"}, "admin is not a field of this request"),
    Case("extra field in a chance", _j({"stage": "final", "counts": {"Sanders": 1}, "chance": [
        {"kind": "lose", "among": ["A", "B"], "selected": ["A"], "rigged": 1}]}), 422, INVALID,
         {"chance[0].rigged": "unknown-field"}),
    Case("bad chance kind", _j({"stage": "final", "counts": {"Sanders": 1}, "chance": [
        {"kind": "steal", "among": ["Sanders", "Warren"], "selected": ["Sanders"]}]}), 422, INVALID,
         {"chance[0].kind": "invalid-value"}, "must be 'lose', 'gain' or 'drop'"),
    Case("unknown stage", _j({"stage": "fourth", "counts": {}}), 422, INVALID, {"stage": "invalid-value"},
         'stage must be one of attendance, first, final, delegates, got "fourth"'),
    Case("no stage", _j({"counts": {"Sanders": 1}}), 422, INVALID, {"stage": "required"}),
    Case("no counts", _j({"stage": "first", "counts": {}}), 422, INVALID, {"counts": "too-few"}),
    Case("too many groups", _first({f"G{i}": 1 for i in range(60)}), 422, INVALID, {"counts": "too-many"}),
    Case("counts as a list", _first([1, 2, 3]), 422, INVALID, {"counts": "not-an-object"}),
    Case("body is a list", b"[1, 2]", 422, INVALID, {"body": "not-an-object"}, "the body must be a JSON object"),
    Case("body is a string", b'"attendance"', 422, INVALID, {"body": "not-an-object"}),
    Case("malformed JSON", b'{"stage": "first", "counts": {', 422, INVALID, {"body": "invalid-json"},
         "body is not valid JSON"),
    Case("not UTF-8", b'{"stage": "\xff"}', 422, INVALID, {"body": "invalid-json"}, "'utf-8' codec can't decode"),
    Case("nested too deeply", b"[" * 20_000 + b"]" * 20_000, 422, INVALID, {"body": "invalid-json"},
         "the body is not valid JSON: it is nested too deeply"),
    Case("empty body", b"", 422, INVALID, {"body": "required"}),
    Case("1 MiB body", ONE_MIB, 413, "body-too-large",
         message="the request body is 1048576 bytes; the limit is 65536 bytes (64 KiB)"),
    Case("form instead of JSON", b"stage=attendance&attendance=5", 415, "unsupported-media-type",
         headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("text/plain", _j({"stage": "attendance", "attendance": 5}), 415, "unsupported-media-type",
         headers={"Content-Type": "text/plain"}, message="got 'text/plain'"),
    Case("no content type", _j({"stage": "attendance", "attendance": 5}), 415, "unsupported-media-type",
         headers={}, message="got no Content-Type"),
    Case("supersedes a negative seq", _j({"stage": "attendance", "attendance": 5, "supersedes_seq": -1,
                                          "reason": "x"}), 422, INVALID, {"supersedes_seq": "too-small"}),
    Case("supersedes a text seq", _j({"stage": "attendance", "attendance": 5, "supersedes_seq": "1",
                                      "reason": "x"}), 422, INVALID, {"supersedes_seq": "not-a-whole-number"}),
    Case("reason too long", _j({"stage": "attendance", "attendance": 5, "supersedes_seq": 1,
                                "reason": "x" * 1001}), 422, INVALID, {"reason": "too-long"}),
    Case("no idempotency key", _j({"stage": "attendance", "attendance": 5}), 422, INVALID,
         {"Idempotency-Key": "required"}, "Idempotency-Key is required: send a new random key", key=None),
    Case("long idempotency key", _j({"stage": "attendance", "attendance": 5}), 422, INVALID,
         {"Idempotency-Key": "too-long"}, key="k" * 129),
    Case("idempotency key with a space", _j({"stage": "attendance", "attendance": 5}), 422, INVALID,
         {"Idempotency-Key": "invalid-format"}, key="two words"),
]

SIGN_IN_CASES = [
    Case("null byte in a precinct", _j({"precinct": "Adair/01NW\u0000", "credential": "x"}), 422, INVALID,
         {"precinct": "invalid-value"}),
    Case("long precinct", _j({"precinct": "A" * 10_000, "credential": "x"}), 422, INVALID, {"precinct": "too-long"}),
    Case("numeric credential", _j({"precinct": "Adair/01NW", "credential": 12345}), 422, INVALID,
         {"credential": "not-text"}),
    Case("unknown precinct", _j({"precinct": "Nowhere/1", "credential": "ABCD-EFGH-JKMN-PQRS-TVWX"}), 422,
         "unknown-precinct", {"precinct": "unknown-precinct"}),
    Case("extra field", _j({"precinct": "Adair/01NW", "credential": "x", "role": "admin"}), 422, INVALID,
         {"role": "unknown-field"}),
    Case("missing everything", b"{}", 422, INVALID, {"precinct": "required", "credential": "required"}),
]


def _check(web: Web, path: str, case: Case, auth: dict[str, str]) -> None:
    headers = {**case.headers, **auth}
    if case.key is not None:
        headers["Idempotency-Key"] = case.key
    response = web.client.post(path, content=case.body, headers=headers)
    assert response.status_code < 500, f"{case.name}: {response.status_code} {response.text}"
    error = assert_error(response, case.status, case.code)
    if case.fields:
        assert fields_of(error) == case.fields, f"{case.name}: {error}"
    if case.message is not None:
        assert case.message in error["message"], f"{case.name}: {error['message']}"


def test_hostile_reports_get_precise_client_errors_and_store_nothing(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    for case in REPORT_CASES:
        _check(web, "/api/v1/reports", case, chair.auth)
    for case in SIGN_IN_CASES:
        _check(web, "/api/v1/session", case, {})
    assert entries(web.engine, SLUG) == []
    assert web.client.get("/api/v1/health").status_code == 200

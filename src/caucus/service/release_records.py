"""A precinct's released record: what a release publishes about one precinct, built from its derived status.

A record is plain JSON data (canonical JSON is what the ``release_precincts`` table stores and what the
snapshot builder reads): the numbers (attendance, first and final alignment, county delegates, SDEs as
4-decimal strings) and the provenance (each stage's channel and receipt time, every correction with its
reason and the numbers before and after, the checks' findings). Actors are not published: a correction
names the role of whoever made it ("precinct chair", "hotline operator", "reviewer"), never a username, and
a correction made by HQ staff in the chair's or the hotline's channel is published as channel ``hq-review``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caucus.ledger import LedgerEntry
from caucus.ledger.db import iso_utc
from caucus.service.evaluation import STAGE_ORDER
from caucus.service.status import PrecinctStatus

Record = dict[str, Any]


def _numbers(payload: Mapping[str, Any], key: str) -> dict[str, int]:
    value = payload.get(key)
    if not isinstance(value, Mapping):
        return {}
    return {str(g): int(n) for g, n in sorted(value.items())}


#: the staff roles a public record may name (caucus.ledger.schema.STAFF_ROLES)
_ROLES = {"admin": "HQ administrator", "operator": "hotline operator", "reviewer": "reviewer",
          "director": "director", "observer": "observer", "chair": "precinct chair"}


def public_source(entry: LedgerEntry) -> tuple[str, str]:
    """(channel, by) as a release publishes them: the channel the entry came through, and who made it by role
    only. An entry that HQ staff recorded in the app's or the hotline's channel (a reviewer's correction, a
    recanvass) is channel ``hq-review``."""
    role = entry.actor.partition(":")[0]
    by = _ROLES.get(role, "HQ staff")
    if (entry.channel == "app" and role == "chair") or (entry.channel == "hotline" and role == "operator"):
        return entry.channel, by
    if entry.channel in ("app", "hotline"):
        return "hq-review", by
    return entry.channel, by


def _stage_numbers(entry: LedgerEntry) -> Any:
    payload = entry.payload
    if entry.stage == "attendance":
        return payload.get("attendance")
    if entry.stage == "delegates":
        return _numbers(payload, "delegates")
    return _numbers(payload, "counts")


def precinct_record(status: PrecinctStatus) -> Record:
    """The released record of an accepted precinct (its current, agreed stage payloads)."""
    info = status.info
    current = {stage: entries[-1] for stage, entries in status.stages.items()}
    final = current["final"].payload
    recomputed = status.evaluation.recomputed
    by_seq = {e.seq: e for e in status.history}
    corrections = []
    for entry in status.history:
        if entry.supersedes_seq is None:
            continue
        before = by_seq.get(entry.supersedes_seq)
        corrections.append({
            "stage": entry.stage,
            "seq": entry.seq,
            "supersedes": entry.supersedes_seq,
            "channel": public_source(entry)[0],
            "by": public_source(entry)[1],
            "receivedAt": iso_utc(entry.received_at),
            "reason": entry.reason or "",
            "before": _stage_numbers(before) if before is not None else None,
            "after": _stage_numbers(entry),
        })
    return {
        "code": info.code,
        "county": info.county,
        "name": info.name,
        "kind": info.kind,
        "delegatesToElect": recomputed.delegates_to_elect,
        "threshold": recomputed.threshold,
        "attendance": current["attendance"].payload.get("attendance"),
        "first": _numbers(current["first"].payload, "counts"),
        "final": _numbers(final, "counts"),
        "delegates": _numbers(current["delegates"].payload, "delegates"),
        "sde": dict(recomputed.sde) if recomputed.sde is not None else None,
        "chance": list(final.get("chance") or []),
        "ledgerSeq": status.history[-1].seq,
        "stages": [
            {"stage": stage, "channel": public_source(entry)[0], "receivedAt": iso_utc(entry.received_at),
             "seq": entry.seq}
            for stage in STAGE_ORDER
            for entry in status.stages.get(stage, ())
        ],
        "corrections": corrections,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message} for f in status.evaluation.findings
        ],
        # accepted by a reviewer despite the findings above (the decision's staff actor is not published)
        "acceptedOnReview": status.accepted_by is not None,
        "photos": [],
    }


def zero_record(code: str, *, county: str, name: str, kind: str, delegates: int | None,
                candidates: tuple[str, ...]) -> Record:
    """A zero-count record for the media rehearsal release: every number 0."""
    zeros = dict.fromkeys(sorted(candidates), 0)
    return {
        "code": code, "county": county, "name": name, "kind": kind, "delegatesToElect": delegates,
        "threshold": None, "attendance": 0, "first": zeros, "final": zeros, "delegates": zeros,
        "sde": dict.fromkeys(zeros, "0.0000"), "chance": [], "ledgerSeq": 0, "stages": [], "corrections": [],
        "findings": [], "photos": [],
    }


#: the fields whose change is a change of the published numbers
NUMBER_FIELDS = ("attendance", "first", "final", "delegates", "sde")


def numbers_of(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else {k: record.get(k) for k in NUMBER_FIELDS}


def change_of(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """One precinct's change between two releases: the numbers before and after and the reasons of the
    corrections made since the earlier record (a recanvass names its request, ``R-<n>``, in its reason)."""
    since = int(before["ledgerSeq"]) if before is not None else 0
    reasons = [c["reason"] for c in after.get("corrections", ()) if int(c["seq"]) > since]
    return {
        "code": after["code"],
        "county": after["county"],
        "kind": "new" if before is None else "changed",
        "before": numbers_of(before),
        "after": numbers_of(after),
        "reasons": reasons,
    }

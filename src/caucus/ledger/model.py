"""The ledger's value types: what goes in (Submission, PrecinctSpec) and comes out (Receipt, LedgerEntry)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from caucus.ledger.errors import InvalidSubmission

Channel = Literal["app", "hotline", "paper", "import"]
Stage = Literal["attendance", "first", "final", "delegates"]
Mode = Literal["test", "live"]
PrecinctKind = Literal["precinct", "satellite"]
CredentialStatus = Literal["active", "revoked"]

CHANNELS: tuple[Channel, ...] = get_args(Channel)
STAGES: tuple[Stage, ...] = get_args(Stage)
MODES: tuple[Mode, ...] = get_args(Mode)
PRECINCT_KINDS: tuple[PrecinctKind, ...] = get_args(PrecinctKind)
CREDENTIAL_STATUSES: tuple[CredentialStatus, ...] = get_args(CredentialStatus)

MAX_KEY_LENGTH = 200
MAX_ACTOR_LENGTH = 200
MAX_CORRECTION_ID_LENGTH = 64


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj``: sorted keys, no spaces, UTF-8 kept as is, no NaN or Infinity."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _check_finite(obj: Any, path: str) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise InvalidSubmission(f"payload value at {path} is {obj!r}; JSON has no NaN or Infinity", field="payload")
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            _check_finite(value, f"{path}.{key}")
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            _check_finite(value, f"{path}[{index}]")


def _check_text(value: object, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSubmission(f"{name} must be a non-empty string, got {value!r}", field=name)
    if len(value) > max_length:
        raise InvalidSubmission(f"{name} is {len(value)} characters long; the limit is {max_length}", field=name)
    return value


@dataclass(frozen=True)
class Submission:
    """One report of one stage of one precinct, from one channel, as it arrives.

    ``payload_json`` is computed: the canonical JSON text of ``payload``. A correction names the entry it
    ``supersedes_seq`` and gives a non-empty ``reason``. The entries of one correction of several stages
    (recorded together, all or none: :meth:`caucus.ledger.Writer.submit_group`) share a ``correction_id``.
    """

    election: str
    precinct_code: str
    channel: Channel
    stage: Stage
    payload: Mapping[str, Any]
    actor: str
    idempotency_key: str
    supersedes_seq: int | None = None
    reason: str | None = None
    correction_id: str | None = None
    payload_json: str = field(init=False, repr=False, compare=False)
    #: optimistic concurrency, set by the services that check a submission against the precinct before
    #: sending it: the seq of the precinct's last entry that counts (0: none) as they read it. The writer then
    #: enforces, in its transaction and under its lock, that the precinct got no entry since (PrecinctChanged:
    #: read again, check again) and that a new (not correcting) entry is the only current one of its channel
    #: and stage, on the hotline of its operator (StageAlreadyRecorded). Not stored, not hashed.
    expect_last_seq: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_text(self.election, "election", 64)
        _check_text(self.precinct_code, "precinct_code", 100)
        if self.channel not in CHANNELS:
            raise InvalidSubmission(
                f"channel must be one of {', '.join(CHANNELS)}, got {self.channel!r}", field="channel"
            )
        if self.stage not in STAGES:
            raise InvalidSubmission(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}", field="stage")
        _check_text(self.actor, "actor", MAX_ACTOR_LENGTH)
        _check_text(self.idempotency_key, "idempotency_key", MAX_KEY_LENGTH)
        if not isinstance(self.payload, Mapping):
            raise InvalidSubmission(
                f"payload must be a JSON object, got {type(self.payload).__name__}", field="payload"
            )
        _check_finite(self.payload, "payload")
        try:
            text = canonical_json(self.payload)
        except (TypeError, ValueError) as exc:
            raise InvalidSubmission(f"payload is not JSON-serializable: {exc}", field="payload") from exc
        object.__setattr__(self, "payload_json", text)
        if self.supersedes_seq is not None:
            if isinstance(self.supersedes_seq, bool) or not isinstance(self.supersedes_seq, int):
                raise InvalidSubmission(
                    f"supersedes_seq must be an integer, got {self.supersedes_seq!r}", field="supersedes_seq"
                )
            if self.supersedes_seq < 1:
                raise InvalidSubmission(
                    f"supersedes_seq must be 1 or more, got {self.supersedes_seq}", field="supersedes_seq"
                )
            if self.reason is None or not self.reason.strip():
                raise InvalidSubmission(
                    f"a correction (superseding entry #{self.supersedes_seq}) needs a non-empty reason",
                    field="reason",
                )
        elif self.reason is not None and not isinstance(self.reason, str):
            raise InvalidSubmission(f"reason must be a string, got {self.reason!r}", field="reason")
        if self.expect_last_seq is not None and (
            isinstance(self.expect_last_seq, bool) or not isinstance(self.expect_last_seq, int)
            or self.expect_last_seq < 0
        ):
            raise InvalidSubmission(f"expect_last_seq must be an integer of 0 or more, got {self.expect_last_seq!r}",
                                    field="expect_last_seq")
        if self.correction_id is not None:
            _check_text(self.correction_id, "correction_id", MAX_CORRECTION_ID_LENGTH)
            if self.supersedes_seq is None:
                raise InvalidSubmission("an entry of a correction must supersede the entry it corrects "
                                        "(supersedes_seq)", field="supersedes_seq")


@dataclass(frozen=True)
class Receipt:
    """The acknowledgment of a durably recorded entry. ``replayed`` is True when the idempotency key had
    already been recorded with the same content: the receipt is then the original one."""

    election: str
    precinct_code: str
    channel: Channel
    stage: Stage
    idempotency_key: str
    seq: int
    received_at: datetime
    content_hash: str
    supersedes_seq: int | None
    replayed: bool = False
    correction_id: str | None = None
    #: the entry itself (as stored), so that the caller need not read it back
    entry: LedgerEntry | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LedgerEntry:
    """One stored row of the ledger."""

    election: str
    seq: int
    precinct_code: str
    channel: Channel
    stage: Stage
    payload_json: str
    actor: str
    idempotency_key: str
    received_at: datetime
    content_hash: str
    prev_hash: str
    supersedes_seq: int | None
    reason: str | None
    correction_id: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(self.payload_json))

    def differences(self, sub: Submission) -> tuple[str, ...]:
        """The fields in which ``sub`` differs from this entry (empty: ``sub`` is a replay of it)."""
        pairs = (
            ("precinct", self.precinct_code, sub.precinct_code),
            ("channel", self.channel, sub.channel),
            ("stage", self.stage, sub.stage),
            ("payload", self.payload_json, sub.payload_json),
            ("supersedes_seq", self.supersedes_seq, sub.supersedes_seq),
            ("reason", self.reason, sub.reason),
            ("correction_id", self.correction_id, sub.correction_id),
        )
        return tuple(name for name, stored, sent in pairs if stored != sent)

    def receipt(self, *, replayed: bool = False) -> Receipt:
        return Receipt(
            election=self.election,
            precinct_code=self.precinct_code,
            channel=self.channel,
            stage=self.stage,
            idempotency_key=self.idempotency_key,
            seq=self.seq,
            received_at=self.received_at,
            content_hash=self.content_hash,
            supersedes_seq=self.supersedes_seq,
            replayed=replayed,
            correction_id=self.correction_id,
            entry=self,
        )


@dataclass(frozen=True)
class PrecinctSpec:
    """A precinct (or satellite site) of an election plan. Satellites may have ``delegates=None``: they get
    theirs from attendance."""

    code: str
    county: str
    name: str
    delegates: int | None
    kind: PrecinctKind = "precinct"


@dataclass(frozen=True)
class Election:
    id: int
    slug: str
    plan_name: str
    mode: Mode
    created_at: datetime


def entry_from_row(row: Mapping[Any, Any], election: str) -> LedgerEntry:
    """A LedgerEntry from a ledger_entries row joined with its precinct's ``code`` as ``precinct_code``."""
    return LedgerEntry(
        election=election,
        seq=row["seq"],
        precinct_code=row["precinct_code"],
        channel=row["channel"],
        stage=row["stage"],
        payload_json=row["payload"],
        actor=row["actor"],
        idempotency_key=row["idempotency_key"],
        received_at=row["received_at"],
        content_hash=row["content_hash"],
        prev_hash=row["prev_hash"],
        supersedes_seq=row["supersedes_seq"],
        reason=row["reason"],
        correction_id=row.get("correction_id"),
    )

"""Typed ledger errors. Every error has a stable ``code`` and an exact message naming the values involved."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""

    code: str = "ledger_error"
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class InvalidSubmission(LedgerError):
    """A submission is malformed (bad channel, stage, payload, key, reason...)."""

    code = "invalid_submission"


class UnknownElection(LedgerError):
    code = "unknown_election"

    def __init__(self, slug: str) -> None:
        super().__init__(f"no election with slug {slug!r}", field="election")
        self.slug = slug


class UnknownPrecinct(LedgerError):
    code = "unknown_precinct"

    def __init__(self, election: str, precinct_code: str) -> None:
        super().__init__(f"election {election!r} has no precinct {precinct_code!r}", field="precinct_code")
        self.election = election
        self.precinct_code = precinct_code


class ElectionExists(LedgerError):
    code = "election_exists"

    def __init__(self, slug: str) -> None:
        super().__init__(f"an election with slug {slug!r} already exists", field="slug")
        self.slug = slug


class InvalidElection(LedgerError):
    """Bad arguments to create_election (slug, mode, precinct specs); lists every problem at once."""

    code = "invalid_election"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used for different content."""

    code = "idempotency_conflict"

    def __init__(self, key: str, original_seq: int, differs: tuple[str, ...]) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used by entry #{original_seq} "
            f"with a different {', '.join(differs)}; use a new key for new content",
            field="idempotency_key",
        )
        self.key = key
        self.original_seq = original_seq
        self.differs = differs


class SupersessionError(LedgerError):
    """A correction names an entry it may not supersede."""

    code = "invalid_supersession"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="supersedes_seq")


class SupersededEntryNotFound(SupersessionError):
    code = "superseded_entry_not_found"

    def __init__(self, election: str, seq: int) -> None:
        super().__init__(f"election {election!r} has no ledger entry #{seq} to supersede")
        self.election = election
        self.seq = seq


class SupersessionMismatch(SupersessionError):
    code = "supersession_mismatch"

    def __init__(self, seq: int, entry_precinct: str, precinct_code: str) -> None:
        super().__init__(
            f"entry #{seq} belongs to precinct {entry_precinct!r}, not {precinct_code!r}; "
            "a correction may only supersede an entry of the same precinct"
        )
        self.seq = seq


class AlreadySuperseded(SupersessionError):
    code = "already_superseded"

    def __init__(self, seq: int, by_seq: int) -> None:
        super().__init__(f"entry #{seq} was already superseded by entry #{by_seq}; supersede #{by_seq} instead")
        self.seq = seq
        self.by_seq = by_seq


class InvalidGroup(LedgerError):
    """A group of submissions (one correction of several stages) that cannot be recorded as one."""

    code = "invalid_group"


class GroupRejected(LedgerError):
    """Another entry of the same correction was refused, so none of its entries was recorded."""

    code = "group_rejected"

    def __init__(self, position: int, cause: LedgerError) -> None:
        super().__init__(f"not recorded: entry {position + 1} of the same correction was refused "
                         f"({cause.message}), and a correction is recorded whole or not at all",
                         field=cause.field)
        self.position = position
        self.cause = cause


class WriterClosed(LedgerError):
    code = "writer_closed"

    def __init__(self) -> None:
        super().__init__("the ledger writer is closed; the submission was not recorded")


class EpochRefused(LedgerError):
    """``go-live`` of a live election, or ``reset-rehearsal`` of a live one."""

    code = "epoch_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="mode")


class RehearsalEntry(LedgerError):
    """A submission reuses the idempotency key of an entry recorded before the election went live (or before
    the rehearsal was reset): that entry never counts, so answering with its receipt would mislead."""

    code = "rehearsal_entry"

    def __init__(self, key: str, original_seq: int) -> None:
        super().__init__(
            f"idempotency key {key!r} belongs to entry #{original_seq}, recorded during the rehearsal (before the "
            "election went live or the rehearsal was reset); rehearsal entries never count. Send the report "
            "again as a new report",
            field="idempotency_key",
        )
        self.key = key
        self.original_seq = original_seq


class SupersedesRehearsal(SupersessionError):
    code = "supersedes_rehearsal"

    def __init__(self, seq: int) -> None:
        super().__init__(f"entry #{seq} was recorded during the rehearsal and does not count; report the stage "
                         "anew instead of correcting it")
        self.seq = seq


class StageAlreadyRecorded(LedgerError):
    """A new (not correcting) entry of a stage that already has a current entry of the same channel (on the
    hotline: of the same operator), in the current epoch. Enforced by the writer, under its lock, for
    submissions that carry ``expect_last_seq`` (the services' own); the services answer with their own error
    (e.g. StageAlreadyReported) after reading the precinct again."""

    code = "stage_already_recorded"

    def __init__(self, precinct_code: str, channel: str, stage: str, seq: int, actor: str | None = None) -> None:
        whose = f"of the {channel} channel" + (f" by {actor}" if actor else "")
        once = f"once per operator on the {channel}" if actor else "once per channel"
        super().__init__(
            f"precinct {precinct_code!r} already has a current {stage} entry {whose} (entry #{seq}); a stage is "
            f"reported {once}: correct entry #{seq} (supersedes_seq) instead",
            field="supersedes_seq",
        )
        self.precinct_code = precinct_code
        self.channel = channel
        self.stage = stage
        self.seq = seq


class PrecinctChanged(LedgerError):
    """The precinct got a new entry after the sender checked its submission against the precinct (its
    ``expect_last_seq``): nothing was recorded; read the precinct again and check again. The services do so
    themselves (a few times) before answering."""

    code = "precinct_changed"

    def __init__(self, precinct_code: str, expected: int, found: int) -> None:
        super().__init__(
            f"precinct {precinct_code!r} changed while this report was being checked (its last entry is now #{found}, "
            f"not #{expected}); nothing was recorded: send it again",
            field="precinct_code",
        )
        self.precinct_code = precinct_code
        self.expected = expected
        self.found = found

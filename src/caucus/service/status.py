"""A precinct's status: derived from its ledger rows (every channel), the checks and the reviewers'
decisions, never stored.

``not-reported``: no row; ``conflicting``: two channels' current rows for a stage disagree, or two hotline
operators' entries do; ``held-for-review``: the checks found something (a warning accepted at ingest, or
anything reported through another channel) and no reviewer has accepted the precinct as it now stands;
``accepted``: all four stages reported and the server reproduces the delegates without a finding (or a
reviewer accepted exactly the current rows); ``reported``: some stages reported, nothing found so far.

Four eyes on the hotline: a hotline entry counts only once a second operator's independent entry of the
same stage, or another channel's (the chair's app report), says the same: the same counts, delegates and
games of chance with the same outcomes (compared by meaning, :mod:`caucus.ledger.meaning`: a 0 typed for a
group and a blank are the same, a toss won by another group is not). Until then it is
left out of the precinct's numbers (the precinct is ``reported``, waiting for the confirmation); two
operators who disagree make the precinct ``conflicting`` (it goes to review).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, and_, bindparam, select

from caucus.ledger import LedgerEntry, PrecinctState, Receipt, Stage, StageConflict, precinct_state, precinct_states
from caucus.ledger.epochs import counted
from caucus.ledger.meaning import entry_meaning, same_meaning
from caucus.ledger.model import Channel
from caucus.ledger.schema import review_decisions
from caucus.ledger.state import ReportStatus, derive_state
from caucus.service.context import ElectionContext, PrecinctInfo
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, Evaluation, evaluate

StatusName = Literal["not-reported", "reported", "accepted", "held-for-review", "conflicting"]
STATUS_NAMES: tuple[StatusName, ...] = ("not-reported", "reported", "accepted", "held-for-review", "conflicting")
HOTLINE: Channel = "hotline"
#: why a precinct is in HQ's review queue, most urgent first (:func:`queue_reasons`)
QUEUE_ORDER = ("conflicting", "held-for-review", "pending-chance", "hotline-unconfirmed", "missing-stages")


@dataclass(frozen=True)
class ReviewDecision:
    """A reviewer's decision on a precinct as it stood at ledger entry ``last_seq`` (``review_decisions``)."""

    id: int
    precinct: str
    decision: str
    last_seq: int
    actor: str
    at: datetime
    note: str
    request_id: int | None = None


@dataclass(frozen=True)
class PrecinctStatus:
    info: PrecinctInfo
    state: StatusName
    reasons: tuple[str, ...]
    #: each stage's current entries (one per channel that reported it), in seq order
    stages: Mapping[Stage, tuple[LedgerEntry, ...]]
    #: every entry of the precinct, in seq order
    history: tuple[LedgerEntry, ...]
    #: seq of a corrected entry -> seq of the entry that corrected it
    superseded_by: Mapping[int, int]
    evaluation: Evaluation
    #: hotline entries that count (confirmed by a second operator or another channel), by stage
    confirmed_hotline: Mapping[Stage, tuple[LedgerEntry, ...]] = dataclasses.field(default_factory=dict)
    #: hotline entries still waiting for a second operator's entry (or the chair's), by stage
    unconfirmed_hotline: Mapping[Stage, LedgerEntry] = dataclasses.field(default_factory=dict)
    #: the reviewer's acceptance that applies to the current rows, if any
    accepted_by: ReviewDecision | None = None

    @property
    def delegates_to_elect(self) -> int | None:
        recomputed = self.evaluation.recomputed.delegates_to_elect
        return recomputed if recomputed is not None else self.info.delegates


@dataclass(frozen=True)
class _FourEyes:
    state: PrecinctState
    confirmed: dict[Stage, tuple[LedgerEntry, ...]]
    unconfirmed: dict[Stage, LedgerEntry]


def hotline_by_operator(state: PrecinctState, stage: Stage) -> list[LedgerEntry]:
    """The latest not-superseded hotline entry of each operator for ``stage``, in seq order."""
    latest: dict[str, LedgerEntry] = {}
    for entry in state.entries:
        if entry.channel == HOTLINE and entry.stage == stage and entry.seq not in state.superseded:
            latest[entry.actor] = entry
    return sorted(latest.values(), key=lambda e: e.seq)


def four_eyes(state: PrecinctState) -> _FourEyes:
    """The state with only the hotline entries that count (pure); see the module docstring."""
    current = {key: entry for key, entry in state.current.items() if key[0] != HOTLINE}
    conflicts: list[StageConflict] = []
    confirmed: dict[Stage, tuple[LedgerEntry, ...]] = {}
    unconfirmed: dict[Stage, LedgerEntry] = {}
    for stage in STAGE_ORDER:
        hotline = hotline_by_operator(state, stage)
        others = [entry for (channel, st), entry in current.items() if st == stage]
        if not hotline:
            if not same_meaning(*others):
                conflicts.append(StageConflict(stage, tuple(sorted(others, key=lambda e: e.seq))))
            continue
        texts = {entry_meaning(e) for e in hotline}
        matched = len(texts) == 1 and (len(hotline) >= 2 or any(entry_meaning(o) in texts for o in others))
        if len(texts) == 1 and not matched and not others:
            unconfirmed[stage] = hotline[-1]
            continue
        if matched:
            confirmed[stage] = tuple(hotline)
            current[(HOTLINE, stage)] = hotline[-1]
        involved = [*others, *hotline]
        if not same_meaning(*involved):
            conflicts.append(StageConflict(stage, tuple(sorted(involved, key=lambda e: e.seq))))
            current[(HOTLINE, stage)] = hotline[-1]
    status: ReportStatus = "conflicting" if conflicts else ("reported" if current else "not-reported")
    effective = dataclasses.replace(state, current=current, conflicts=tuple(conflicts), status=status)
    return _FourEyes(effective, confirmed, unconfirmed)


def _conflict_reason(conflict: StageConflict) -> str:
    title = STAGE_TITLES[conflict.stage]
    if all(e.channel == HOTLINE for e in conflict.entries):
        return (f"the {title} differs between hotline operators: "
                + ", ".join(f"{e.actor} (entry #{e.seq})" for e in conflict.entries))
    return f"the {title} differs between channels: " + ", ".join(f"{e.channel} (entry #{e.seq})"
                                                                 for e in conflict.entries)


def _reasons(state: PrecinctState, evaluation: Evaluation, accepted: ReviewDecision | None,
             unconfirmed: Mapping[Stage, LedgerEntry]) -> tuple[StatusName, tuple[str, ...]]:
    if not state.entries:
        return "not-reported", ("nothing reported yet",)
    waiting = tuple(
        f"the hotline {STAGE_TITLES[stage]} (entry #{entry.seq} by {entry.actor}) waits for a second operator's "
        "entry or the chair's own report" for stage, entry in unconfirmed.items()
    )
    if state.conflicts:
        return "conflicting", tuple(_conflict_reason(c) for c in state.conflicts)
    if evaluation.findings:
        if accepted is not None and evaluation.stages == STAGE_ORDER and not waiting and not evaluation.impossible:
            return "accepted", (f"accepted by {accepted.actor} as of entry #{accepted.last_seq}: {accepted.note}",
                                *(f"{f.code}: {f.message}" for f in evaluation.findings))
        return "held-for-review", tuple(f"{f.code}: {f.message}" for f in evaluation.findings) + waiting
    if evaluation.complete and not waiting:
        return "accepted", ("all four stages reported; the server reproduces the delegates",)
    missing = [STAGE_TITLES[s] for s in STAGE_ORDER if s not in evaluation.stages]
    return "reported", ((f"waiting for: {', '.join(missing)}",) if missing else ()) + waiting


def derive_status(
    context: ElectionContext, info: PrecinctInfo, state: PrecinctState, decisions: Iterable[ReviewDecision] = ()
) -> PrecinctStatus:
    """The status of one precinct from its derived ledger state and its review decisions (pure)."""
    checked = four_eyes(state)
    effective = checked.state
    payloads: dict[Stage, Mapping[str, Any]] = {}
    disputed = {conflict.stage for conflict in effective.conflicts}
    for stage in STAGE_ORDER:
        # a disputed stage counts for nothing, whether channels or two hotline operators disagree
        payload = None if stage in disputed else effective.payload(stage)
        if payload is not None:
            payloads[stage] = payload
    evaluation = evaluate(info, context.ruleset, context.candidates, payloads)
    accepted = next((d for d in sorted(decisions, key=lambda d: -d.id)
                     if d.decision == "accept" and d.last_seq == state.last_seq), None)
    name, reasons = _reasons(effective, evaluation, accepted, checked.unconfirmed)
    stages = {
        stage: tuple(sorted(state.stage_entries(stage).values(), key=lambda e: e.seq))
        for stage in STAGE_ORDER
    }
    for stage in STAGE_ORDER:
        extra = [e for e in hotline_by_operator(state, stage) if e not in stages[stage]]
        stages[stage] = tuple(sorted([*stages[stage], *extra], key=lambda e: e.seq))
    superseded_by = {e.supersedes_seq: e.seq for e in state.entries if e.supersedes_seq is not None}
    return PrecinctStatus(
        info=info,
        state=name,
        reasons=reasons,
        stages={stage: entries for stage, entries in stages.items() if entries},
        history=state.entries,
        superseded_by=superseded_by,
        evaluation=evaluation,
        confirmed_hotline=checked.confirmed,
        unconfirmed_hotline=checked.unconfirmed,
        accepted_by=accepted if name == "accepted" and evaluation.findings else None,
    )


#: the election's review decisions that count: decisions on the rehearsal's entries never do (caucus.ledger.epochs)
DECISIONS_THAT_COUNT = and_(review_decisions.c.election_id == bindparam("election_id"),
                            counted(review_decisions.c.last_seq, bindparam("election_id")))
_ALL_DECISIONS = select(review_decisions).where(DECISIONS_THAT_COUNT)
#: every election's decisions, or some precincts' (built once: the writer's state keeper runs it in every batch)
_DECISIONS = {False: _ALL_DECISIONS.order_by(review_decisions.c.id),
              True: _ALL_DECISIONS.where(review_decisions.c.precinct_code.in_(bindparam("codes", expanding=True)))
              .order_by(review_decisions.c.id)}


def decisions_in(conn: Connection, context: ElectionContext, codes: Collection[str] | None = None
                 ) -> dict[str, list[ReviewDecision]]:
    """The review decisions that count (of the precincts ``codes``, if given), by precinct code, read on ``conn``."""
    query = _DECISIONS[codes is not None]
    found: dict[str, list[ReviewDecision]] = {}
    for row in conn.execute(query, {"election_id": context.election_id, "codes": list(codes or ())}):
        found.setdefault(row.precinct_code, []).append(ReviewDecision(
            row.id, row.precinct_code, row.decision, row.last_seq, row.actor, row.at, row.note, row.request_id))
    return found


def reason_codes(status: PrecinctStatus) -> tuple[str, ...]:
    """The reason codes of a precinct's state (the findings' codes, the stages in conflict or missing): never the
    messages, which name the numbers (what a campaign or an observer may see of an unreleased precinct)."""
    if status.state == "held-for-review":
        codes = [f.code for f in status.evaluation.findings]
        codes += ["hotline-unconfirmed"] if status.unconfirmed_hotline else []
        return tuple(dict.fromkeys(codes))
    if status.state == "conflicting":
        found = [f"conflict:{s}" for s in STAGE_ORDER if any(STAGE_TITLES[s] in r for r in status.reasons)]
        return tuple(found or ["conflict"])
    if status.state == "reported":
        return tuple(f"missing:{s}" for s in STAGE_ORDER if s not in status.evaluation.stages) + \
            (("hotline-unconfirmed",) if status.unconfirmed_hotline else ())
    return ()


def queue_reasons(status: PrecinctStatus) -> tuple[str, ...]:
    why = []
    if status.state == "conflicting":
        why.append("conflicting")
    if status.state == "held-for-review":
        why.append("held-for-review")
    if status.evaluation.recomputed.pending_chance is not None:
        why.append("pending-chance")
    if status.unconfirmed_hotline:
        why.append("hotline-unconfirmed")
    if status.history and status.state not in ("accepted",) and len(status.evaluation.stages) < len(STAGE_ORDER):
        why.append("missing-stages")
    return tuple(why)


def _decisions(
    engine: Engine, context: ElectionContext, precinct: str | None = None
) -> dict[str, list[ReviewDecision]]:
    with engine.connect() as conn:
        return decisions_in(conn, context, None if precinct is None else [precinct])


def read_status(engine: Engine, context: ElectionContext, precinct: str) -> PrecinctStatus:
    """The current status of ``precinct`` from the ledger and its review decisions; raises UnknownPrecinctCode."""
    info = context.precinct(precinct)
    decisions = _decisions(engine, context, info.code).get(info.code, [])
    return derive_status(context, info, precinct_state(engine, context.slug, info.code), decisions)


class Remembers(Protocol):
    """What the ledger writer's state maintainer (:mod:`caucus.service.maintained`) derived at commit."""

    def remembered(self, content_hash: str) -> PrecinctStatus | None: ...


def status_after_write(engine: Engine, context: ElectionContext, state: PrecinctState,
                       written: Sequence[Receipt], maintainer: object | None = None) -> PrecinctStatus:
    """The status of ``state``'s precinct once the entries of ``written`` were appended to it, without reading
    the ledger again: as the writer's ``maintainer`` derived it in the write's own transaction if it did;
    otherwise from ``state`` and the entries written, reading only the review decisions. Valid because the writer
    recorded them only if the precinct's last counted entry was still ``state``'s (``Submission.expect_last_seq``);
    for a replay, or a receipt without its entry, the status is read from the ledger."""
    info = context.precinct(state.precinct_code)
    added = [receipt.entry for receipt in written if not receipt.replayed and receipt.entry is not None]
    if len(added) != len(written):
        return read_status(engine, context, info.code)
    remembers = getattr(maintainer, "remembered", None)
    if added and remembers is not None:
        known = remembers(added[-1].content_hash)
        if isinstance(known, PrecinctStatus):
            return known
    decisions = _decisions(engine, context, info.code).get(info.code, [])
    return derive_status(context, info, derive_state(state.election, state.precinct_code, (*state.entries, *added)),
                         decisions)


#: plans up to this many precincts keep each unreported precinct's status (about 1 KB each, so at most ~20 MB); a
#: larger plan derives them each time rather than hold one per precinct for the whole night
UNREPORTED_KEPT = 20_000


def unreported_status(context: ElectionContext, info: PrecinctInfo) -> PrecinctStatus:
    """The status of a precinct with no entry and no review decision (pure: on a plan of up to
    :data:`UNREPORTED_KEPT` precincts derived once per context, then shared)."""
    known = context.unreported.get(info.code)
    if isinstance(known, PrecinctStatus) and known.info is info:
        return known
    status = derive_status(context, info, derive_state(context.slug, info.code, ()))
    if len(context.precincts) <= UNREPORTED_KEPT:
        context.unreported[info.code] = status
    return status


def read_statuses(engine: Engine, context: ElectionContext) -> dict[str, PrecinctStatus]:
    """The current status of every precinct of the election, by code (one pass over the ledger)."""
    decisions = _decisions(engine, context)
    statuses: dict[str, PrecinctStatus] = {}
    for code, state in precinct_states(engine, context.slug).items():
        info = context.precincts.get(code)
        if info is None:
            continue
        made = decisions.get(code)
        statuses[code] = (derive_status(context, info, state, made or []) if state.entries or made
                          else unreported_status(context, info))
    return statuses

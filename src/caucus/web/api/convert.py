"""Service results -> API response models."""

from __future__ import annotations

from collections.abc import Iterable

from caucus.checks import Finding
from caucus.ledger import LedgerEntry, Receipt
from caucus.service import CorrectionResult, PrecinctStatus, Recomputation, SubmitResult
from caucus.web.api.schemas import (
    ChanceEventOut,
    CorrectionResponse,
    FindingOut,
    HistoryEntryOut,
    PrecinctOut,
    ReceiptOut,
    RecomputedOut,
    StageEntryOut,
    SubmitResponse,
)


def receipt_out(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut(
        seq=receipt.seq,
        received_at=receipt.received_at,
        content_hash=receipt.content_hash,
        idempotency_key=receipt.idempotency_key,
        stage=receipt.stage,
        channel=receipt.channel,
        supersedes_seq=receipt.supersedes_seq,
        correction_id=receipt.correction_id,
    )


def findings_out(findings: Iterable[Finding]) -> list[FindingOut]:
    return [FindingOut(code=f.code, severity=f.severity, rule=f.rule, message=f.message, field=f.field)
            for f in findings]


def recomputed_out(recomputed: Recomputation) -> RecomputedOut:
    pending = recomputed.pending_chance
    return RecomputedOut(
        delegates_to_elect=recomputed.delegates_to_elect,
        attendance=recomputed.attendance,
        threshold=recomputed.threshold,
        status=recomputed.status,
        delegates=dict(recomputed.delegates) if recomputed.delegates is not None else None,
        sde=dict(recomputed.sde) if recomputed.sde is not None else None,
        pending_chance=None if pending is None else ChanceEventOut(
            kind=pending.kind, among=list(pending.among), count=pending.count, description=pending.describe()
        ),
        notes=list(recomputed.notes),
    )


def _stage_entry(entry: LedgerEntry) -> StageEntryOut:
    return StageEntryOut(seq=entry.seq, received_at=entry.received_at, channel=entry.channel,
                         content_hash=entry.content_hash, numbers=entry.payload)


def precinct_out(status: PrecinctStatus) -> PrecinctOut:
    info = status.info
    return PrecinctOut(
        code=info.code,
        county=info.county,
        name=info.name,
        kind=info.kind,
        delegates_to_elect=status.delegates_to_elect,
        state=status.state,
        reasons=list(status.reasons),
        stages={stage: [_stage_entry(e) for e in entries] for stage, entries in status.stages.items()},
        history=[
            HistoryEntryOut(
                seq=e.seq, received_at=e.received_at, channel=e.channel, content_hash=e.content_hash,
                numbers=e.payload, stage=e.stage, idempotency_key=e.idempotency_key,
                supersedes_seq=e.supersedes_seq, reason=e.reason, superseded_by=status.superseded_by.get(e.seq),
            )
            for e in status.history
        ],
        findings=findings_out(status.evaluation.findings),
        recomputed=recomputed_out(status.evaluation.recomputed),
    )


def submit_out(result: SubmitResult) -> SubmitResponse:
    return SubmitResponse(
        receipt=receipt_out(result.receipt),
        precinct=precinct_out(result.status),
        findings=findings_out(result.status.evaluation.findings),
        recomputed=recomputed_out(result.status.evaluation.recomputed),
        replayed=result.replayed,
    )


def correction_out(result: CorrectionResult) -> CorrectionResponse:
    return CorrectionResponse(
        correction_id=result.correction_id,
        receipts=[receipt_out(r) for r in result.receipts],
        status=precinct_out(result.status),
        findings=findings_out(result.status.evaluation.findings),
        recomputed=recomputed_out(result.status.evaluation.recomputed),
        replayed=result.replayed,
    )

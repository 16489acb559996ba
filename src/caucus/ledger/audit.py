"""The audit log: admin actions and rejected attempts, append-only like the ledger."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, select

from caucus.ledger.model import canonical_json
from caucus.ledger.schema import audit_log, elections


@dataclass(frozen=True)
class AuditEvent:
    id: int
    election: str | None
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    outcome: str


def audit_row(
    *,
    election_id: int | None,
    at: datetime,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    outcome: str,
) -> dict[str, Any]:
    """The values of one audit_log row, for ``insert(audit_log)``."""
    return {
        "election_id": election_id,
        "at": at,
        "actor": actor,
        "action": action,
        "detail": canonical_json(dict(detail)),
        "outcome": outcome,
    }


def record(
    conn: Connection,
    *,
    election_id: int | None,
    at: datetime,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    outcome: str,
) -> None:
    """Append one audit event inside the caller's transaction."""
    conn.execute(
        audit_log.insert(),
        audit_row(election_id=election_id, at=at, actor=actor, action=action, detail=detail, outcome=outcome),
    )


def audit_events(engine: Engine, election_slug: str | None = None) -> list[AuditEvent]:
    """Audit events in the order they were recorded, optionally only those of one election."""
    query = (
        select(audit_log, elections.c.slug)
        .select_from(audit_log.outerjoin(elections, audit_log.c.election_id == elections.c.id))
        .order_by(audit_log.c.id)
    )
    if election_slug is not None:
        query = query.where(elections.c.slug == election_slug)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AuditEvent(
            id=row.id,
            election=row.slug,
            at=row.at,
            actor=row.actor,
            action=row.action,
            detail=cast(dict[str, Any], json.loads(row.detail)),
            outcome=row.outcome,
        )
        for row in rows
    ]

"""HQ's view of the sign-in throttles: what is throttled now, and lifting a throttle (audited).

The throttles themselves are in :mod:`caucus.service.limits`; the sign-in, hotline and staff services
apply them. Lifting clears the failures that count towards a throttle: of a client (an address, or a hotline
operator), of a target (a precinct, for the app and the hotline; an account, for staff), or of one
(target, client) pair.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from caucus.ledger import audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.service.context import ElectionContext
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.limits import (
    CHAIR_RULES,
    HOTLINE_RULES,
    STAFF_RULES,
    THROTTLE_KINDS,
    ThrottleKind,
    ThrottleRow,
    ThrottleRules,
    Throttles,
)

KIND_TITLES: dict[str, str] = {"chair": "chair app sign-in", "hotline": "hotline verification",
                               "staff": "staff sign-in"}


class ThrottleService:
    def __init__(self, engine: Engine, context: ElectionContext, *, clock: Callable[[], datetime] = utcnow,
                 chair: ThrottleRules = CHAIR_RULES, hotline: ThrottleRules = HOTLINE_RULES,
                 staff: ThrottleRules = STAFF_RULES) -> None:
        self.engine = engine
        self.context = context
        self.clock = clock
        self.throttles: dict[str, Throttles] = {
            "chair": Throttles(engine, "chair", context.election_id, chair),
            "hotline": Throttles(engine, "hotline", context.election_id, hotline),
            "staff": Throttles(engine, "staff", None, staff),
        }

    def current(self) -> list[ThrottleRow]:
        """Every client and (target, client) pair throttled now, latest failure first."""
        now = self.clock()
        rows = [row for throttles in self.throttles.values() for row in throttles.current(now)]
        return sorted(rows, key=lambda r: r.latest, reverse=True)

    def lift(self, actor: str, kind: str, target: str, client: str) -> int:
        """Clear the failures of ``target`` (a precinct code as typed, or a username), ``client`` (an address
        or an operator) or both; audited as ``throttle.lift``. Returns how many failures stopped counting.
        Raises StaffInputInvalid naming the field."""
        if kind not in THROTTLE_KINDS:
            raise StaffInputInvalid("kind", f"kind is one of {', '.join(THROTTLE_KINDS)}; got {kind!r}")
        target, client = target.strip(), client.strip()
        if not target and not client:
            raise StaffInputInvalid("target", "name the precinct or account, the address or operator, or both")
        if target and kind in ("chair", "hotline"):
            target = self.context.precinct(target).code  # raises UnknownPrecinctCode
        elif target:
            target = target.lower()
        now = self.clock()
        cleared = self.throttles[kind].lift(target=target or None, client=client or None, now=now, by=actor)
        with write_transaction(self.engine) as conn:
            audit.record(conn, election_id=self.context.election_id, at=now, actor=actor, action="throttle.lift",
                         detail={"kind": kind, "target": target, "client": client, "failures_cleared": cleared},
                         outcome="ok" if cleared else "nothing-to-lift")
        return cleared


def kind_title(kind: ThrottleKind | str) -> str:
    return KIND_TITLES.get(kind, kind)

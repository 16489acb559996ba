"""Helpers shared by the ledger tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from caucus.ledger import PrecinctSpec, Submission
from caucus.ledger.credentials import HashCost

FAST_COST = HashCost(time_cost=1, memory_cost_kib=8, parallelism=1)  # argon2id at minimum cost, for tests
SLUG = "ia-2020-test"
PRECINCTS = (
    PrecinctSpec("Adair/01NW", "Adair", "Adair 1 NW", 4),
    PrecinctSpec("Adair/02NE", "Adair", "Adair 2 NE", 3),
    PrecinctSpec("Polk/DSM-12", "Polk", "Des Moines 12", 9),
    PrecinctSpec("Polk/DSM-13", "Polk", "Des Moines 13", 7),
    PrecinctSpec("Satellite/Paris", "Satellite", "Paris, France", None, "satellite"),
)


def sub(
    key: str,
    payload: Mapping[str, Any] | None = None,
    *,
    precinct: str = "Adair/01NW",
    channel: str = "app",
    stage: str = "first",
    actor: str = "chair:Adair/01NW",
    supersedes: int | None = None,
    reason: str | None = None,
    election: str = SLUG,
    expect_last_seq: int | None = None,
) -> Submission:
    """A submission with sensible defaults."""
    return Submission(
        election=election,
        precinct_code=precinct,
        channel=channel,  # type: ignore[arg-type]
        stage=stage,  # type: ignore[arg-type]
        payload=payload if payload is not None else {"Buttigieg": 10, "Sanders": 12},
        actor=actor,
        idempotency_key=key,
        supersedes_seq=supersedes,
        reason=reason,
        expect_last_seq=expect_last_seq,
    )


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that must import caucus from this checkout."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return env


PYTHON = sys.executable

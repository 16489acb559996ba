"""Precinct chairs played from real published results: sign in, then submit attendance, first alignment,
final alignment (with the game-of-chance outcome the published delegates imply) and delegates, each with an
idempotency key, retrying on network failure with the same key until acknowledged."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from caucus.audit import audit
from caucus.plans import load_plan
from caucus.results_csv import read_results

__all__ = ["ChairScript", "Outcome", "play_chair", "scripts_from_results"]


@dataclass(frozen=True)
class ChairScript:
    precinct: str
    stages: tuple[dict[str, Any], ...]


@dataclass
class Outcome:
    """What one chair saw: acknowledged receipts (key -> seq), latencies, retries and refusals."""

    precinct: str
    acknowledged: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    retries: int = 0
    refused: list[str] = field(default_factory=list)


def scripts_from_results(results: Path, plan_name: str = "iowa-2020", limit: int | None = None) -> list[ChairScript]:
    """Scripts for the units of a published results file whose numbers pass every blocking check (the
    published delegates follow from the alignments); chance outcomes are the ones the delegates imply."""
    plan = load_plan(plan_name)
    report = audit(plan, read_results(results, plan=plan))
    scripts = []
    for unit in report.units:
        if unit.result.blocking or unit.attendance == 0:
            continue
        chance = [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)}
                  for o in unit.result.inferred_chance]
        final: dict[str, Any] = {"stage": "final", "counts": {g: n for g, n in unit.final.items() if n}}
        if chance:
            final["chance"] = chance
        stages = (
            {"stage": "attendance", "attendance": max(unit.attendance, sum(unit.final.values()))},
            {"stage": "first", "counts": {g: n for g, n in unit.first.items() if n}},
            final,
            {"stage": "delegates", "delegates": {g: n for g, n in unit.reported_delegates.items() if n}},
        )
        scripts.append(ChairScript(unit.code, stages))
        if limit is not None and len(scripts) >= limit:
            break
    return scripts


async def _send(client: httpx.AsyncClient, outcome: Outcome, headers: dict[str, str], body: dict[str, Any],
                deadline: float) -> None:
    key = str(uuid.uuid4())
    while True:
        started = time.perf_counter()
        try:
            response = await client.post("/api/v1/reports", json=body,
                                         headers={**headers, "Idempotency-Key": key})
        except httpx.TransportError:
            outcome.retries += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        if response.status_code in (200, 201):
            outcome.latencies.append(time.perf_counter() - started)
            outcome.acknowledged[key] = int(response.json()["receipt"]["seq"])
            return
        if response.status_code >= 500 and time.monotonic() < deadline:
            outcome.retries += 1
            await asyncio.sleep(0.05)
            continue
        outcome.refused.append(f"{body['stage']}: {response.status_code} {response.text[:300]}")
        return


async def play_chair(client: httpx.AsyncClient, script: ChairScript, credential: str, *,
                     stages: Iterable[int] | None = None, retry_for: float = 60.0,
                     outcome: Outcome | None = None) -> Outcome:
    """Sign in (retrying while the server is down) and submit the script's stages in order; ``outcome``
    (if given) is filled in as receipts arrive, so others can watch progress."""
    outcome = outcome or Outcome(script.precinct)
    deadline = time.monotonic() + retry_for
    while True:
        try:
            signed = await client.post("/api/v1/session", json={"precinct": script.precinct,
                                                                "credential": credential})
            break
        except httpx.TransportError:
            outcome.retries += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    if signed.status_code != 201:
        outcome.refused.append(f"sign-in: {signed.status_code} {signed.text[:300]}")
        return outcome
    headers = {"Authorization": f"Bearer {signed.json()['token']}"}
    chosen = list(stages) if stages is not None else range(len(script.stages))
    for i in chosen:
        await _send(client, outcome, headers, script.stages[i], deadline)
    return outcome

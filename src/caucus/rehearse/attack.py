"""An attacker during the night: precinct codes are public, so a prankster floods the sign-in with wrong
credentials for many precincts, from many addresses, and guesses staff passwords (the results director's
included), hoping to lock the real chairs and staff out.

The addresses are given in ``X-Forwarded-For``; the rehearsal's server trusts 127.0.0.1 as its proxy
(``CAUCUS_TRUSTED_PROXIES``), as a production server trusts its nginx, so each attempt comes from the
address the attacker chose. The chairs come from addresses of their own (:func:`chair_address`). The verdict
(:class:`AttackTally` with the chairs' and staff's own sign-ins) fails if anyone with the right credential
was refused.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from caucus.ledger.credentials import ALPHABET, GROUP_LENGTH, GROUPS


def chair_address(index: int) -> str:
    """The address a chair's phone comes from (100.64.0.0/10, carrier-grade NAT space)."""
    return f"100.{64 + index // 62500 % 64}.{index // 250 % 250}.{index % 250 + 1}"


def attacker_address(index: int) -> str:
    """One of the attacker's addresses (198.18.0.0/15, the benchmarking range)."""
    return f"198.{18 + index // 62500 % 2}.{index // 250 % 250}.{index % 250 + 1}"


def wrong_credential(rng: random.Random) -> str:
    """A guess of the right shape (the cards' alphabet and grouping)."""
    return "-".join("".join(rng.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


@dataclass
class AttackTally:
    """What the attacker sent and what it was answered."""

    attempts: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    precincts: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    staff_attempts: int = 0
    #: a wrong credential that signed in: must never happen
    accepted: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"attempts": self.attempts, "staff_attempts": self.staff_attempts,
                "precincts_targeted": len(self.precincts), "addresses": len(self.addresses),
                "answers": dict(sorted(self.answers.items())), "wrong_credentials_accepted": self.accepted,
                "seconds": round(self.seconds, 1)}


@dataclass(frozen=True)
class Attack:
    """``attempts`` wrong chair sign-ins over ``duration`` seconds from ``addresses`` addresses, spread over
    ``codes``; every ``staff_every``-th attempt is a wrong password for one of ``staff``."""

    codes: Sequence[str]
    staff: Sequence[str]
    attempts: int = 400
    addresses: int = 200
    duration: float = 30.0
    concurrency: int = 8
    staff_every: int = 10
    seed: int = 7


async def flood(base_url: str, attack: Attack, tally: AttackTally) -> AttackTally:
    """Send the attack; returns when every attempt is answered (bounded in count and time)."""
    rng = random.Random(attack.seed)
    started = time.monotonic()
    gate = asyncio.Semaphore(attack.concurrency)
    pause = attack.duration / max(1, attack.attempts)

    async def one(http: httpx.AsyncClient, i: int) -> None:
        address = attacker_address(rng.randrange(attack.addresses))
        tally.addresses.add(address)
        headers = {"X-Forwarded-For": address}
        async with gate:
            try:
                if attack.staff and i % attack.staff_every == attack.staff_every - 1:
                    tally.staff_attempts += 1
                    user = rng.choice(list(attack.staff))
                    form = await http.get("/hq/sign-in", headers=headers)
                    token = form.text.split('name="login_token" value="', 1)[-1].split('"', 1)[0]
                    response = await http.post("/hq/sign-in", headers=headers, data={
                        "username": user, "password": secrets.token_urlsafe(12), "login_token": token,
                        "next": "/hq"})
                    tally.answers[f"staff {response.status_code}"] += 1
                    if response.status_code == 303:
                        tally.accepted += 1
                    return
                code = rng.choice(list(attack.codes))
                tally.precincts.add(code)
                tally.attempts += 1
                response = await http.post("/api/v1/session", headers=headers, json={
                    "precinct": code, "credential": wrong_credential(rng)})
                tally.answers[f"chair {response.status_code}"] += 1
                if response.status_code == 201:
                    tally.accepted += 1
            except httpx.HTTPError as exc:
                tally.answers[f"network {type(exc).__name__}"] += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False) as http:
        tasks = []
        for i in range(attack.attempts):
            tasks.append(asyncio.create_task(one(http, i)))
            await asyncio.sleep(pause)
        await asyncio.gather(*tasks)
    tally.seconds = time.monotonic() - started
    return tally

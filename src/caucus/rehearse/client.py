"""The chairs' phones, as light as they can be: one aiohttp session whose keep-alive connections (at most
``connections``) all chairs share, request bodies encoded once per report (a retry re-sends the same bytes),
and no work per request beyond sending it and reading the answer.

Why aiohttp and not httpx (the rest of the rehearsal's client): the load generator must cost less CPU per
report than the server it measures. Profiled with py-spy on ``caucus demo`` (benchmarks/RESULTS.md), httpx
spent 56 % of the generator's CPU in its connection pool's bookkeeping (every request re-scans every
connection and queued request) and 8.6 % in an optional import that fails on every call; aiohttp's
connector hands out a kept-alive connection in constant time and parses answers in C.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from caucus.rehearse.night import Sent, Tally

__all__ = ["RETRYABLE", "Answer", "Client", "encode"]

RETRYABLE = frozenset({429, 500, 502, 503, 504})
#: the first send of a "flaky" chair gives up this soon: the signal drops before the answer arrives
DROPPED = 0.002
JSON = {"Content-Type": "application/json"}


def encode(body: Mapping[str, Any]) -> bytes:
    """A request body as sent (compact JSON), computed once per report."""
    return json.dumps(body, separators=(",", ":")).encode()


class Answer:
    """An HTTP answer, read whole."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.status_code, self.content, self.headers = status_code, content, headers

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """Sends with retries: the same key until a 2xx or a refusal (4xx other than 401/409/423/429).

    Use as ``async with Client(...) as client``; every chair of the night shares it."""

    def __init__(self, base_url: str, tally: Tally, *, give_up_after: float = 1800.0, connections: int = 64,
                 timeout: float = 30.0) -> None:
        self.base_url, self.tally, self.give_up_after = base_url, tally, give_up_after
        self.connections, self.timeout = connections, aiohttp.ClientTimeout(total=timeout)
        self.dropped = aiohttp.ClientTimeout(total=DROPPED)
        # requests wait here for a connection, in order
        self.slots = asyncio.Semaphore(connections)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections,
                                         keepalive_timeout=60)
        self.session = aiohttp.ClientSession(self.base_url, connector=connector, timeout=self.timeout,
                                             skip_auto_headers=("User-Agent",), auto_decompress=False,
                                             raise_for_status=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def _once(self, method: str, path: str, headers: Mapping[str, str], data: bytes | None,
                    timeout: aiohttp.ClientTimeout) -> Answer:
        assert self.session is not None, "use the client as an async context manager"
        async with self.slots, self.session.request(method, path, headers=headers, data=data, timeout=timeout,
                                                    allow_redirects=False) as response:
            return Answer(response.status, await response.read(), response.headers)

    async def request(self, method: str, path: str, *, sent: Sent | None, flaky: bool = False,
                      reauth: Callable[[], Awaitable[dict[str, str]]] | None = None,
                      headers: Mapping[str, str] | None = None, on_answer: Callable[[int], None] | None = None,
                      data: bytes | None = None) -> Answer | None:
        deadline = time.monotonic() + self.give_up_after
        headers = dict(headers or {})
        delay = 0.05
        while True:
            started = time.perf_counter()
            timeout = self.dropped if flaky else self.timeout
            if sent is not None:
                sent.attempts += 1
            response: Answer | None = None
            try:
                response = await self._once(method, path, headers, data, timeout)
            except TimeoutError:
                if not flaky:  # a deliberate drop is the chair's bad signal, not the server's slowness
                    self.tally.timeouts += 1
                    self.tally.error("network: timeout")
            except aiohttp.ClientError as exc:
                self.tally.error(f"network: {type(exc).__name__}")
            flaky = False
            if response is not None and on_answer is not None:
                on_answer(response.status_code)
            if response is not None and response.status_code == 401 and reauth is not None:
                headers.update(await reauth())
                continue
            if response is not None and response.status_code not in RETRYABLE:
                if sent is not None:
                    sent.status = response.status_code
                    if response.is_success:
                        self.tally.ack(sent, time.perf_counter() - started)
                    else:
                        sent.refused = f"{response.status_code} {response.text[:200]}"
                return response
            if response is not None:
                self.tally.error(f"HTTP {response.status_code}")
            if time.monotonic() > deadline:
                if sent is not None:
                    sent.refused = "gave up: no acknowledgment"
                return None
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)

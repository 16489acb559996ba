"""The load generator's own cost: client CPU per request of the rehearsal's chair client (aiohttp, one
kept-alive pool: caucus.rehearse.client) against httpx's AsyncClient as the rehearsal used it before (one
client, a pool of 64 connections, requests queued on a semaphore), in the same run, against one trivial ASGI
app on uvicorn (so the server's cost per request is as small as it gets and the same for both).

CPU from /proc: the client's own process, and the server's process (its cost per request is the baseline
the client must stay under). Load goes to 127.0.0.1 only, bounded in count.

Run: .venv/bin/python benchmarks/bench_loadgen.py [--requests 5000] [--connections 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from caucus.rehearse.client import JSON, Client, encode
from caucus.rehearse.cpu import process_cpu, session_cpu
from caucus.rehearse.night import Sent, Tally
from caucus.rehearse.server import free_port

BODY = {"stage": "final", "counts": {"Buttigieg": 41, "Sanders": 37, "Warren": 22, "Biden": 18, "Klobuchar": 9}}


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """A trivial ASGI app: reads the body, answers a small JSON receipt."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"receipt":{"seq":1}}'})


async def with_httpx(base: str, requests: int, connections: int) -> None:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    slots = asyncio.Semaphore(connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        async def one(i: int) -> None:
            async with slots:
                response = await http.post("/r", json=BODY, headers={"Idempotency-Key": str(i)})
            response.json()

        await asyncio.gather(*(one(i) for i in range(requests)))


async def with_aiohttp(base: str, requests: int, connections: int) -> None:
    tally = Tally()
    async with Client(base, tally, connections=connections) as client:
        async def one(i: int) -> None:
            sent = Sent(str(i), "P", "final", "report", time.monotonic())
            response = await client.request("POST", "/r", sent=sent, data=encode(BODY),
                                            headers={**JSON, "Idempotency-Key": str(i)})
            assert response is not None
            response.json()

        await asyncio.gather(*(one(i) for i in range(requests)))
    assert tally.acked_count == requests


def measure(run: Callable[[str, int, int], Coroutine[Any, Any, None]], base: str, server: int, requests: int,
            connections: int) -> dict[str, float]:
    client, served, wall = process_cpu(), session_cpu([server]), time.monotonic()
    asyncio.run(run(base, requests, connections))
    return {"client_ms_per_request": (process_cpu() - client) * 1000 / requests,
            "server_ms_per_request": (session_cpu([server]) - served) * 1000 / requests,
            "requests_per_second": requests / (time.monotonic() - wall)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench_loadgen:app", "--app-dir",
                               str(Path(__file__).parent), "--port", str(port), "--log-level", "warning"],
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        results: dict[str, list[dict[str, float]]] = {"httpx": [], "aiohttp": []}
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            results["httpx"].append(measure(with_httpx, base, server.pid, args.requests, args.connections))
            results["aiohttp"].append(measure(with_aiohttp, base, server.pid, args.requests, args.connections))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    best = {name: min(runs, key=lambda r: r["client_ms_per_request"]) for name, runs in results.items()}
    print(json.dumps({"requests": args.requests, "connections": args.connections, "repeat": args.repeat,
                      "runs": results}, indent=2))
    print("| client | client CPU ms/request | server CPU ms/request (trivial app) | requests/s |")
    print("|---|---|---|---|")
    for name, r in best.items():
        print(f"| {name} | {r['client_ms_per_request']:.3f} | {r['server_ms_per_request']:.3f} | "
              f"{r['requests_per_second']:,.0f} |")
    print(f"ratio httpx / aiohttp (client CPU): "
          f"{best['httpx']['client_ms_per_request'] / best['aiohttp']['client_ms_per_request']:.1f}x")


if __name__ == "__main__":
    main()

"""Whole-state exports (the browse CSV, the campaigns' cross-check CSV) bounded per worker: each streams every
released precinct (seconds of a worker's CPU and a database connection at national size), so an account may
run one at a time and a worker a few; beyond that the request is refused at once (429 ``export-busy`` with
Retry-After) instead of queuing work that would slow the chairs' reports. Per account first, so one account
asking again and again is refused without taking the slots other accounts need.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from caucus.service.errors import ServiceError

#: exports streaming at once in one worker, and per account
TOTAL = 4
PER_ACCOUNT = 1


class ExportBusy(ServiceError):
    """Too many exports are streaming: ask again in a few seconds."""

    code = "export-busy"
    retry_after = 5


class ExportSlots:
    """The exports streaming in this worker, by account."""

    def __init__(self, total: int = TOTAL, per_account: int = PER_ACCOUNT) -> None:
        self.total, self.per_account = total, per_account
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def running(self) -> int:
        with self._lock:
            return sum(self._running.values())

    def stream(self, account: str, chunks: Callable[[], Iterator[bytes]]) -> Iterator[bytes]:
        """``chunks()`` streamed in a slot of ``account``'s, taken now (:class:`ExportBusy` if none is free) and
        given back when the stream ends, fails or is dropped (the client went away)."""
        with self._lock:
            mine = self._running.get(account, 0)
            if mine >= self.per_account:
                raise ExportBusy(f"your account is already downloading {mine} export(s) from this server; wait for "
                                 "it to finish, then ask again")
            if sum(self._running.values()) >= self.total:
                raise ExportBusy(f"{self.total} exports are being downloaded from this server; ask again in a few "
                                 "seconds")
            self._running[account] = mine + 1
        try:
            return _Held(chunks(), lambda: self._give_back(account))
        except BaseException:
            self._give_back(account)
            raise

    def _give_back(self, account: str) -> None:
        with self._lock:
            left = self._running.get(account, 0) - 1
            if left > 0:
                self._running[account] = left
            else:
                self._running.pop(account, None)


class _Held(Iterator[bytes]):
    """An export's chunks holding a slot until they end, fail, are closed or dropped."""

    def __init__(self, chunks: Iterator[bytes], give_back: Callable[[], None]) -> None:
        self._chunks, self._give_back, self._held = chunks, give_back, True

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._held:
            self._held = False
            closing = getattr(self._chunks, "close", None)
            try:
                if closing is not None:
                    closing()
            finally:
                self._give_back()

    def __del__(self) -> None:
        self.close()

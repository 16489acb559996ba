"""The single writer: one thread owns the write connection and commits submissions in groups.

Callers on any thread enqueue a submission and wait on a future. The writer thread takes everything queued
(up to ``max_batch``), appends it in ONE transaction, commits once (durably: ``synchronous=FULL`` on
SQLite, ``synchronous_commit=on`` on PostgreSQL) and only then completes every waiter. So a receipt in
hand means the entry is on disk, and a burst of N submissions costs far fewer than N commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from caucus.ledger.batch import Unit, UnitOutcome, apply_units
from caucus.ledger.db import begin_immediate, utcnow
from caucus.ledger.derived import StateMaintainer
from caucus.ledger.errors import InvalidGroup, LedgerError, WriterClosed
from caucus.ledger.model import Receipt, Submission

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 256
RETRIES = 3  # attempts of a batch on OperationalError (lock timeout, deadlock, lost connection)


@dataclass
class WriterStats:
    """Counters of the writer's work so far."""

    commits: int = 0
    submissions: int = 0
    written: int = 0
    replayed: int = 0
    rejected: int = 0
    failed: int = 0


_Pending = tuple[Unit, "Future[Any]"]


class Writer:
    """The ledger's single writer. Start one per process; several processes may share a PostgreSQL
    database (or an SQLite file): seq and prev_hash assignment is serialized by the database."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        clock: Callable[[], datetime] = utcnow,
        name: str = "caucus-ledger-writer",
        maintainer: StateMaintainer | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be 1 or more, got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self.stats = WriterStats()
        self._clock = clock
        #: derives and stores the touched precincts' status rows in each batch's transaction
        #: (:mod:`caucus.ledger.derived`); without one, their rows are marked stale
        self.maintainer = maintainer
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._conn: Connection | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- the callers' side -------------------------------------------------------------------------
    def submit_future(self, submission: Submission) -> Future[Receipt]:
        """Enqueue ``submission``; the future resolves to its Receipt once its batch is committed, or to
        its LedgerError (IdempotencyConflict, UnknownPrecinct, ...)."""
        future: Future[Receipt] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosed()
            self._queue.put((submission, future))
        return future

    def submit_group_future(self, group: Sequence[Submission]) -> Future[list[Receipt]]:
        """Enqueue the entries of one correction of several stages, recorded in one transaction, all or none.
        The future resolves to their receipts (in order; all ``replayed`` for a replay of the whole group),
        or to the error of the first refused entry (none is then recorded; each gets an audit_log row)."""
        units = tuple(group)
        if not units:
            raise InvalidGroup("a group needs at least one submission")
        future: Future[list[Receipt]] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosed()
            self._queue.put((units, future))
        return future

    def submit_group(self, group: Sequence[Submission], timeout: float | None = None) -> list[Receipt]:
        """Record the submissions of ``group`` durably, all or none, and return their receipts (blocking)."""
        return self.submit_group_future(group).result(timeout)

    def submit(self, submission: Submission, timeout: float | None = None) -> Receipt:
        """Record ``submission`` durably and return its receipt (blocking)."""
        return self.submit_future(submission).result(timeout)

    async def submit_async(self, submission: Submission) -> Receipt:
        """Record ``submission`` durably and return its receipt, without blocking the event loop."""
        return await asyncio.wrap_future(self.submit_future(submission))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float | None = None) -> None:
        """Stop taking submissions, finish (commit) everything already queued, and stop the thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the ledger writer did not stop within {timeout} s")

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
                self._process(batch)
        except BaseException:
            log.exception("the ledger writer thread crashed")
            with self._lock:
                self._closed = True
            self._fail_queued()
            raise
        finally:
            self._disconnect()

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(WriterClosed())

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = begin_immediate(self.engine.connect())
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception:
                log.exception("closing the ledger writer's connection failed")

    def _process(self, batch: Sequence[_Pending]) -> None:
        live = [item for item in batch if item[1].set_running_or_notify_cancel()]
        try:
            if live:
                self._write(live, RETRIES)
        except BaseException as exc:  # a bug: never leave a caller waiting forever
            for _, future in live:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else WriterClosed())
            raise

    def _write(self, batch: Sequence[_Pending], attempts: int) -> None:
        units = [unit for unit, _ in batch]
        for attempt in range(1, attempts + 1):
            try:
                conn = self._connection()
                with conn.begin():
                    outcomes = apply_units(conn, units, self._clock, self.maintainer)  # read under the lock
                self.stats.commits += 1
                break
            except Exception as exc:
                self._disconnect()
                if isinstance(exc, OperationalError) and attempt < attempts:
                    log.warning("ledger batch of %d failed (attempt %d), retrying: %s", len(batch), attempt, exc)
                    time.sleep(0.05 * attempt)
                    continue
                if len(batch) > 1:
                    # Resolve each submission on its own so one bad item cannot fail the others.
                    log.warning("ledger batch of %d failed, writing one by one: %s", len(batch), exc)
                    for item in batch:
                        self._write([item], 1)
                else:
                    self.stats.failed += 1
                    batch[0][1].set_exception(exc)
                return
        self._resolve(batch, outcomes)

    def _resolve(self, batch: Sequence[_Pending], outcomes: Sequence[UnitOutcome]) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            results = outcome if isinstance(outcome, list) else [outcome]
            self.stats.submissions += len(results)
            for result in results:
                if isinstance(result, Receipt):
                    if result.replayed:
                        self.stats.replayed += 1
                    else:
                        self.stats.written += 1
                else:
                    self.stats.rejected += 1
            if not isinstance(outcome, list):
                if isinstance(outcome, Receipt):
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)
                continue
            error = next((r for r in outcome if isinstance(r, LedgerError) and r.code != "group_rejected"),
                         next((r for r in outcome if isinstance(r, LedgerError)), None))
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome)

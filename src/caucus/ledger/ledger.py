"""The ledger as one object: an engine and its single writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from sqlalchemy import Engine

from caucus.ledger.db import make_engine, utcnow
from caucus.ledger.migrate import upgrade
from caucus.ledger.model import Receipt, Submission
from caucus.ledger.writer import DEFAULT_MAX_BATCH, Writer


class Ledger:
    """Appends submissions through one background writer (group commit). Reads go through the module
    functions (``entries``, ``precinct_state``, ``verify_chain``) on ``ledger.engine``."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        clock: Callable[[], datetime] = utcnow,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.writer = Writer(engine, max_batch=max_batch, clock=clock)
        self._owns_engine = owns_engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, max_batch: int = DEFAULT_MAX_BATCH) -> Ledger:
        """Open the ledger at ``url`` (creating or upgrading its schema unless ``migrate`` is False)."""
        engine = make_engine(url)
        try:
            if migrate:
                upgrade(engine)
            return cls(engine, max_batch=max_batch, owns_engine=True)
        except BaseException:
            engine.dispose()
            raise

    def submit(self, submission: Submission, timeout: float | None = None) -> Receipt:
        """Record ``submission`` durably. Same key and content again: the original receipt, ``replayed``."""
        return self.writer.submit(submission, timeout)

    async def submit_async(self, submission: Submission) -> Receipt:
        return await self.writer.submit_async(submission)

    def close(self) -> None:
        """Commit what is queued, stop the writer, and dispose of the engine if this ledger opened it."""
        try:
            self.writer.close()
        finally:
            if self._owns_engine:
                self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

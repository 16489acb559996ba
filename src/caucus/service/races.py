"""Per-precinct ordering across workers: check, write, and check again if another worker got there first.

A service checks a submission against the precinct's entries (stage order, one report per stage and channel,
the current entry a correction names, the numbers with the other stages) and sends it to the ledger's writer
with ``expect_last_seq``: the precinct's last entry it checked against. The writer records it only if, in its
transaction and under its lock (the election's row, ``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on
SQLite), the precinct is still as it was checked and the stage has no current entry of the channel (of the
operator, on the hotline) (:mod:`caucus.ledger.batch`). Otherwise it answers with one of :data:`RACE_ERRORS`
and records nothing; the service then reads the precinct again and checks again, so the sender gets the
answer a sequential submission would get (StageAlreadyReported, CorrectionInvalid, ...), or, when the other
write does not stand in its way (another operator's stage, another stage), its receipt.
"""

from __future__ import annotations

from caucus.ledger import AlreadySuperseded, PrecinctChanged, StageAlreadyRecorded

#: what the writer answers when another worker wrote to the precinct between the check and the write
RACE_ERRORS = (PrecinctChanged, StageAlreadyRecorded, AlreadySuperseded)
#: how many times a submission is checked again after losing such a race before the writer's error is returned
RACE_ATTEMPTS = 5

"""The results ledger: every report from every channel as an immutable, hash-chained row.

Importing this package does no work; build engines with :func:`make_engine` and the schema with
:func:`upgrade`.
"""

from caucus.ledger.audit import AuditEvent, audit_events
from caucus.ledger.chain import GENESIS_HASH, ChainReport, verify_chain
from caucus.ledger.credentials import (
    HashCost,
    IssuedCredential,
    issue_cards,
    issue_credential,
    issue_credentials,
    normalize_hotline_code,
    revoke_credential,
    verify_credential,
    verify_hotline_code,
)
from caucus.ledger.db import make_engine, sqlite_url_for_dir
from caucus.ledger.elections import create_election, get_election, list_precincts
from caucus.ledger.errors import (
    AlreadySuperseded,
    ElectionExists,
    GroupRejected,
    IdempotencyConflict,
    InvalidElection,
    InvalidGroup,
    InvalidSubmission,
    LedgerError,
    PrecinctChanged,
    StageAlreadyRecorded,
    SupersededEntryNotFound,
    SupersessionError,
    SupersessionMismatch,
    UnknownElection,
    UnknownPrecinct,
    WriterClosed,
)
from caucus.ledger.ledger import Ledger
from caucus.ledger.migrate import current_revision, head_revision, upgrade
from caucus.ledger.model import (
    Channel,
    Election,
    LedgerEntry,
    Mode,
    PrecinctKind,
    PrecinctSpec,
    Receipt,
    Stage,
    Submission,
    canonical_json,
)
from caucus.ledger.state import PrecinctState, StageConflict, entries, precinct_state, precinct_states
from caucus.ledger.writer import Writer

__all__ = [
    "GENESIS_HASH",
    "AlreadySuperseded",
    "AuditEvent",
    "ChainReport",
    "Channel",
    "Election",
    "ElectionExists",
    "GroupRejected",
    "HashCost",
    "IdempotencyConflict",
    "InvalidElection",
    "InvalidGroup",
    "InvalidSubmission",
    "IssuedCredential",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "Mode",
    "PrecinctChanged",
    "PrecinctKind",
    "PrecinctSpec",
    "PrecinctState",
    "Receipt",
    "Stage",
    "StageAlreadyRecorded",
    "StageConflict",
    "Submission",
    "SupersededEntryNotFound",
    "SupersessionError",
    "SupersessionMismatch",
    "UnknownElection",
    "UnknownPrecinct",
    "Writer",
    "WriterClosed",
    "audit_events",
    "canonical_json",
    "create_election",
    "current_revision",
    "entries",
    "get_election",
    "head_revision",
    "issue_cards",
    "issue_credential",
    "issue_credentials",
    "list_precincts",
    "make_engine",
    "normalize_hotline_code",
    "precinct_state",
    "precinct_states",
    "revoke_credential",
    "sqlite_url_for_dir",
    "upgrade",
    "verify_chain",
    "verify_credential",
    "verify_hotline_code",
]

"""The use cases, in one layer that the web routes and the command line both call.

Plain classes taking explicit dependencies (an engine, the ledger's Writer, the election's context, a
clock); no HTTP in here. Domain errors are typed (:mod:`caucus.service.errors`, plus the ledger's own
errors) with exact messages; the web layer maps them to one JSON error shape.

Importing this package does no work: build an :class:`ElectionContext` with :func:`load_context`, then
:class:`SessionService` and :class:`ReportService`.
"""

from caucus.service.context import ElectionContext, PrecinctInfo, load_context
from caucus.service.corrections import Correction, CorrectionResult, StageCorrection, correction_id_for
from caucus.service.errors import (
    CorrectionInvalid,
    ElectionNotServable,
    FieldProblem,
    Forbidden,
    InvalidReport,
    LedgerTimeout,
    NotSignedIn,
    ReportRejected,
    ServiceError,
    SessionExpired,
    SessionInvalid,
    SessionRevoked,
    SignInFailed,
    StageAlreadyReported,
    StageOutOfOrder,
    TooManySignIns,
    UnknownCandidates,
    UnknownPrecinctCode,
    WrongPrecinct,
)
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, Evaluation, Recomputation, evaluate
from caucus.service.limits import Backoff, ThrottleRules, Throttles
from caucus.service.reports import ReportService, StageReport, SubmitResult
from caucus.service.sessions import (
    ChairSession,
    CredentialMalformed,
    SessionService,
    SignedIn,
    SignInPurpose,
    sign_in_tests,
    token_hash,
)
from caucus.service.status import STATUS_NAMES, PrecinctStatus, StatusName, derive_status, read_status

__all__ = [
    "STAGE_ORDER",
    "STAGE_TITLES",
    "STATUS_NAMES",
    "Backoff",
    "ChairSession",
    "Correction",
    "CorrectionInvalid",
    "CorrectionResult",
    "CredentialMalformed",
    "ElectionContext",
    "ElectionNotServable",
    "Evaluation",
    "FieldProblem",
    "Forbidden",
    "InvalidReport",
    "LedgerTimeout",
    "NotSignedIn",
    "PrecinctInfo",
    "PrecinctStatus",
    "Recomputation",
    "ReportRejected",
    "ReportService",
    "ServiceError",
    "SessionExpired",
    "SessionInvalid",
    "SessionRevoked",
    "SessionService",
    "SignInFailed",
    "SignInPurpose",
    "SignedIn",
    "StageAlreadyReported",
    "StageCorrection",
    "StageOutOfOrder",
    "StageReport",
    "StatusName",
    "SubmitResult",
    "ThrottleRules",
    "Throttles",
    "TooManySignIns",
    "UnknownCandidates",
    "UnknownPrecinctCode",
    "WrongPrecinct",
    "correction_id_for",
    "derive_status",
    "evaluate",
    "load_context",
    "read_status",
    "sign_in_tests",
    "token_hash",
]

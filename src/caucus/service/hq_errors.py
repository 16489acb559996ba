"""Typed errors of the headquarters use cases (staff sign-in, hotline, review, recanvass).

Like :mod:`caucus.service.errors`: a stable ``code``, an exact ``message``; the web layer maps each class to
one HTTP status (``caucus.web.errors``).
"""

from __future__ import annotations

from caucus.service.errors import FieldProblem, ServiceError, SignInFailed


class StaffSignInFailed(SignInFailed):
    """Unknown user, wrong password or disabled account: the message never says which."""


class StaffInputInvalid(ServiceError):
    """A staff form field breaks a rule (the field is named)."""

    code = "invalid-input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, [FieldProblem(field, self.code, message)])


class StaffUserExists(ServiceError):
    code = "staff-user-exists"


class UnknownStaffUser(ServiceError):
    code = "unknown-staff-user"


class CsrfRejected(ServiceError):
    """A form without the session's CSRF token, or with a wrong one (403)."""

    code = "csrf-rejected"


class CallerNotVerified(ServiceError):
    """The hotline caller's precinct code and credential do not match (nothing is recorded)."""

    code = "caller-not-verified"


class ReviewActionInvalid(ServiceError):
    code = "review-action-invalid"


class UnknownRecanvass(ServiceError):
    code = "unknown-recanvass"

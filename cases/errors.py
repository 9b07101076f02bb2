"""Domain errors with a user-facing message, mapped to HTTP statuses at the edge.

Services raise these; views and the API turn them into a JSON body or a page message.
`TransitionNotAllowed` and tracebacks never reach users.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.functional import Promise


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str | Promise, errors: Iterable[str | Promise] = ()) -> None:
        super().__init__(str(message))
        self.message = message
        self.errors = list(errors)


class InvalidInput(DomainError):
    """The data sent cannot be accepted (a score out of range, a missing reason)."""


class GuardFailed(DomainError):
    """A transition's preconditions are not met; `errors` lists every reason."""


class NotAllowed(DomainError):
    """The user may see the case but not do this to it."""

    status_code = 403


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it does."""

    status_code = 404


class WrongState(DomainError):
    """The case is not in a state where this can happen."""

    status_code = 409


class Conflict(DomainError):
    """Someone else changed the same thing first."""

    status_code = 409


class ImportRefused(InvalidInput):
    """A file was refused as a whole; `problems` locates each reason (row, column, message)."""

    def __init__(
        self,
        message: str | Promise,
        problems: Iterable[dict[str, object]],
    ) -> None:
        self.problems = list(problems)
        super().__init__(message, [str(p["text"]) for p in self.problems])

"""Refusals of the evidence app that need an HTTP status of their own."""

from __future__ import annotations

from cases.errors import DomainError


class TooLarge(DomainError):
    """The file is over the size limit (nothing was stored)."""

    status_code = 413


class StoreUnavailable(DomainError):
    """The object store cannot be reached; nothing was saved."""

    status_code = 503


class Gone(DomainError):
    """The evidence row exists but its file was found missing or altered in the store."""

    status_code = 410

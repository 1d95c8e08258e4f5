"""One base error and small named subclasses; each message says what to do next."""

from __future__ import annotations


class ConferencingError(Exception):
    """Base of every error this package raises on purpose."""


class PermissionDenied(ConferencingError):
    """The signed-in user may not do this."""


class NotFound(ConferencingError):
    """The record does not exist, or the user may not know that it does."""


class InvalidInput(ConferencingError):
    """The input is empty, too large, malformed or otherwise unacceptable."""


class LimitExceeded(InvalidInput):
    """A size or rate limit was hit."""


class InvalidLink(ConferencingError):
    """A dashboard link token is missing, malformed, tampered, expired or for an unknown user."""


class StorageError(ConferencingError):
    """The database or blob store failed; nothing was saved."""


__all__ = [
    "ConferencingError",
    "InvalidInput",
    "InvalidLink",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "StorageError",
]

"""One base error and small named subclasses; each message says what to do next."""

from __future__ import annotations

import logging
import secrets

log = logging.getLogger("conferencing_widgets.errors")

UNREACHABLE = "Can't reach the server right now. Nothing was saved; try again in a moment."
"""What a user reads when the database or the blob store fails: never a host, port, path or driver text."""
UNREACHABLE_READ = "Can't reach the server right now; try again in a moment."


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
    """The database or blob store failed; nothing was saved.

    ``str()`` is for users: ``message`` and a short ``ref``. The ``detail`` (driver text, host, path) goes only to
    the server log, under the same ``ref``, so support can match a screenshot to the log line.
    """

    def __init__(self, message: str = UNREACHABLE, *, detail: object = None) -> None:
        self.ref = secrets.token_hex(4)
        """Correlation id shown to the user and written to the log."""
        self.message = message
        self.detail = detail
        if detail is not None:
            log.warning("storage error [ref %s]: %s", self.ref, detail)
        super().__init__(f"{message} (ref {self.ref})")


__all__ = [
    "ConferencingError",
    "InvalidInput",
    "InvalidLink",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "StorageError",
]

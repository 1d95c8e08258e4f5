"""One entry of the browser's outbox (issue 16): what the composer kept while the page could not reach its kernel.

The browser holds it in localStorage and sends it as a custom message once the page is back, so every field is
untrusted input: ``parse`` keeps only well-typed values; the service checks the rest (a client id's length, the
rights, the text) and its refusal is shown on the entry's row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


def outbox_scope(login: str) -> str:
    """The browser's key for what ``login`` keeps offline (messages, files): a hash, so storage names no one (and
    never holds the token)."""
    return hashlib.sha256(f"conferencing-outbox:{login}".encode()).hexdigest()[:24]


def _message_id(value: Any) -> int | None:
    """A positive id, or None (booleans are ints in Python, and never ids)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class OutboxEntry:
    """A new message, a reply (``reply_to``) or an edit of one's own message (``edit_of``); ``note``: internal."""

    conversation_id: int
    text: str
    client_id: str
    note: bool = False
    reply_to: int | None = None
    edit_of: int | None = None

    @classmethod
    def parse(cls, content: dict[str, Any]) -> OutboxEntry | None:
        """The entry a browser message describes, or None when its required fields are missing or mistyped."""
        conv, text, client_id = (
            _message_id(content.get("conversation_id")),
            content.get("text"),
            content.get("client_id"),
        )
        if conv is None or not isinstance(text, str) or not isinstance(client_id, str):
            return None
        return cls(
            conversation_id=conv,
            text=text,
            client_id=client_id,
            note=content.get("note") is True,
            reply_to=_message_id(content.get("reply_to")),
            edit_of=_message_id(content.get("edit_of")),
        )

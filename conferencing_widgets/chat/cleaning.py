"""What a title or a message body may be: the checks every feature's input goes through."""

from __future__ import annotations

import unicodedata

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded
from conferencing_widgets.core.i18n import _

MAX_TITLE_CHARS = 200


def clean_title(title: str, *, what: str | None = None) -> str:
    """A one-line title without control characters, 1..200 characters; ``what`` names it in errors."""
    what = what or _("title")
    text = " ".join("".join(ch for ch in str(title) if unicodedata.category(ch)[0] != "C").split())
    if not text:
        raise InvalidInput(_("The {what} is empty. Type a short {what}.").format(what=what))
    if len(text) > MAX_TITLE_CHARS:
        raise InvalidInput(
            _("The {what} is too long ({count} characters); the limit is {max_title_chars}.").format(
                what=what, count=len(text), max_title_chars=MAX_TITLE_CHARS
            )
        )
    return text


def clean_body(body: str, limit: int) -> str:
    """Message text with NULs removed and outer blank lines trimmed; refuses empty or over-long text."""
    if not isinstance(body, str):
        raise InvalidInput(_("A message must be text."))
    text = body.replace("\x00", "").strip("\r\n")
    if not text.strip():
        raise InvalidInput(_("The message is empty. Type something before sending."))
    if len(text) > limit:
        raise LimitExceeded(
            _("The message is {count:,} characters long; the limit is {limit:,}. Shorten it.").format(
                count=len(text), limit=limit
            )
        )
    return text

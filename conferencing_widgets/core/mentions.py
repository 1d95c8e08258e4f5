"""``@login`` mentions in message text: found once here, for the service (store the references) and the
renderer (show them as ``<span class="cw-mention">``). No I/O.

Code spans and code blocks are skipped (``@decorator`` in a snippet is no mention), as are e-mail addresses
(``name@example.com``: the ``@`` must not follow a word character).
"""

from __future__ import annotations

import re

MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")
"""``@`` + a login: letters, digits, ``.``, ``_``, ``-`` (a trailing ``.``/``-`` is punctuation, not login)."""
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`", re.DOTALL)
MAX_MENTIONS = 20
"""More distinct mentions in one message are refused (a mass ping is not a conversation)."""


def login_of(match: re.Match[str]) -> str:
    """The login a ``MENTION`` match names (trailing punctuation dropped)."""
    return match.group(1).rstrip(".-")


def mentioned_logins(body: str) -> list[str]:
    """The distinct logins ``body`` mentions, in order of first mention."""
    text = _CODE.sub(" ", body)
    return list(dict.fromkeys(login_of(m) for m in MENTION.finditer(text) if login_of(m)))

"""What every video provider shares: the provider interface, the join request, room names, URL checks.

Room names never contain personal data: they are random tokens only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import Call, User

ROOM_PREFIX = "cw"
"""Every room name starts with this, so rooms of this kit are recognisable in a shared Jitsi server's logs."""
ROOM_TOKEN_BYTES = 24
"""Random bytes per room name (192 bits; still over 150 bits if a server folds letter case)."""
ROOM_PATTERN = re.compile(r"^cw[A-Za-z0-9_-]{32}$")
"""What a room name looks like: the prefix and 32 URL-safe base64 characters, nothing else."""


def room_name() -> str:
    """A fresh unguessable room name: random bytes only, no user, conversation or time in it."""
    return ROOM_PREFIX + secrets.token_urlsafe(ROOM_TOKEN_BYTES)


def check_http_url(url: str, *, setting: str) -> str:
    """``url`` without a trailing slash if it is an absolute http(s) URL; ``InvalidInput`` otherwise."""
    text = str(url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in text for c in ' "<>\\'):
        raise InvalidInput(
            f"The setting {setting} must be an http(s) URL such as https://meet.example.org, got {text!r}."
        )
    return text.rstrip("/")


def info_url(settings: Settings) -> str | None:
    """The "more information" link if it is a usable http(s) URL (else none is shown)."""
    text = str(settings.video_info_url or "").strip()
    try:
        check_http_url(text, setting="CONFERENCING_VIDEO_INFO_URL")
    except InvalidInput:
        return None
    return text


@dataclass(frozen=True, kw_only=True)
class JoinRequest:
    """What a provider needs to send one member into one call."""

    call: Call
    """The live call (its ``room`` included)."""
    user: User
    """The member who joins."""
    settings: Settings
    """The deployment's settings."""
    call_page_url: str
    """A signed link to ``dashboards/call.ipynb`` for this call and user."""
    now: float | None = None
    """Clock override for tests (seconds since the epoch)."""


@runtime_checkable
class VideoProvider(Protocol):
    """A way to hold a meeting. Register with :func:`~conferencing_widgets.calls.providers.register_provider`."""

    name: str
    """Key used in ``Settings.video_provider`` and stored with each call."""
    label: str
    """Shown to users ("Jitsi Meet")."""
    runs_in_call_page: bool
    """True when the call itself runs inside ``dashboards/call.ipynb``; False when that page only forwards."""

    def new_room(self) -> str:
        """A fresh unguessable room name."""
        ...

    def check(self, settings: Settings) -> None:
        """Raise ``InvalidInput`` when the settings cannot work for this provider (before a call is stored)."""
        ...

    def join_url(self, request: JoinRequest) -> str:
        """The URL the member's new window opens."""
        ...


__all__ = [
    "JoinRequest",
    "ROOM_PATTERN",
    "ROOM_PREFIX",
    "ROOM_TOKEN_BYTES",
    "VideoProvider",
    "check_http_url",
    "info_url",
    "room_name",
]

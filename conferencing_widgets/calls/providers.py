"""Meeting rooms: video providers behind a small interface, unguessable room names, Jitsi JWTs, ICE servers.

A provider turns a stored call into the URL a member's browser opens. Two are built in:

- ``jitsi``: Jitsi Meet at ``Settings.jitsi_url``. The room is ``<base>/<room>``; with ``jitsi_app_id`` and
  ``jitsi_app_secret`` set (self-hosted Jitsi with token authentication) the URL carries a short-lived JWT
  with the user's display name and the room (claims ``aud``, ``iss``, ``sub``, ``room``, ``exp``,
  ``context.user.name``).
- ``builtin``: a peer-to-peer WebRTC page (``dashboards/call.ipynb``) whose signalling travels through the
  store. It needs no outside service on a LAN; STUN/TURN servers come from ``Settings.ice_servers``.

Add a provider by implementing :class:`VideoProvider` and calling :func:`register_provider`; select it with
``CONFERENCING_VIDEO_PROVIDER``. Room names never contain personal data: they are random tokens only.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import jwt

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import Call, User

ROOM_PREFIX = "cw"
"""Every room name starts with this, so rooms of this kit are recognisable in a shared Jitsi server's logs."""
ROOM_TOKEN_BYTES = 24
"""Random bytes per room name (192 bits; still over 150 bits if a server folds letter case)."""
ROOM_PATTERN = re.compile(r"^cw[A-Za-z0-9_-]{32}$")
"""What a room name looks like: the prefix and 32 URL-safe base64 characters, nothing else."""
JWT_TTL = timedelta(hours=2)
"""Lifetime of a Jitsi JWT; a member who joins later gets a fresh one."""
JWT_AUDIENCE = "jitsi"
"""The ``aud`` claim Jitsi's token authentication expects by default."""


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


def jitsi_jwt(
    *,
    app_id: str,
    app_secret: str,
    room: str,
    display_name: str,
    domain: str,
    ttl: timedelta = JWT_TTL,
    now: float | None = None,
) -> str:
    """An HS256 JWT for Jitsi's token authentication (prosody ``token`` auth).

    ``iss`` is the app id, ``aud`` is ``jitsi``, ``sub`` the Jitsi domain, ``room`` the one room it opens,
    ``exp`` ends it, and ``context.user.name`` is the name shown in the meeting. Nothing else about the user
    is put in it.
    """
    if not app_id or not app_secret:
        raise InvalidInput("Jitsi JWT needs both CONFERENCING_JITSI_APP_ID and CONFERENCING_JITSI_APP_SECRET.")
    if ttl.total_seconds() <= 0:
        raise InvalidInput("A JWT lifetime must be positive.")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "aud": JWT_AUDIENCE,
        "iss": app_id,
        "sub": domain,
        "room": room,
        "iat": issued,
        "nbf": issued - 10,  # tolerate a Jitsi server clock slightly behind ours
        "exp": issued + int(ttl.total_seconds()),
        "context": {"user": {"name": display_name}},
    }
    return jwt.encode(claims, app_secret, algorithm="HS256")


def parse_ice_servers(text: str) -> list[dict[str, str]]:
    """``RTCIceServer`` dicts from ``Settings.ice_servers``.

    Comma-separated entries: ``stun:host:port`` or ``turn:user:password@host:port[?transport=tcp]`` (also
    ``stuns:``/``turns:``). Credentials are split off into ``username``/``credential``.
    """
    out: list[dict[str, str]] = []
    for raw in str(text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        scheme, sep, rest = entry.partition(":")
        if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest.strip("/"):
            raise InvalidInput(
                f"Not a STUN/TURN server: {entry!r}. Use e.g. stun:stun.example.org:3478 or "
                "turn:user:password@turn.example.org:3478 (comma-separated)."
            )
        rest = rest.lstrip("/")
        server: dict[str, str] = {}
        if "@" in rest:
            creds, _, host = rest.rpartition("@")
            user, colon, password = creds.partition(":")
            if not colon or not user or not password or not host:
                raise InvalidInput(f"TURN credentials must look like user:password@host, got {entry!r}.")
            server = {"urls": f"{scheme}:{host}", "username": user, "credential": password}
        else:
            server = {"urls": f"{scheme}:{rest}"}
        out.append(server)
    return out


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
    """A way to hold a meeting. Register with :func:`register_provider`."""

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


class JitsiProvider:
    """Jitsi Meet at a configurable base URL, optionally with JWT (token authentication)."""

    name = "jitsi"
    label = "Jitsi Meet"
    runs_in_call_page = False

    def new_room(self) -> str:
        return room_name()

    def check(self, settings: Settings) -> None:
        check_http_url(settings.jitsi_url, setting="CONFERENCING_JITSI_URL")
        if bool(settings.jitsi_app_id) != bool(settings.jitsi_app_secret):
            raise InvalidInput(
                "Set both CONFERENCING_JITSI_APP_ID and CONFERENCING_JITSI_APP_SECRET for Jitsi JWT, or neither."
            )

    def room_url(self, settings: Settings, room: str) -> str:
        """The room's URL without any token."""
        return f"{check_http_url(settings.jitsi_url, setting='CONFERENCING_JITSI_URL')}/{quote(room, safe='')}"

    def join_url(self, request: JoinRequest) -> str:
        settings = request.settings
        self.check(settings)
        url = self.room_url(settings, request.call.room)
        name = request.user.display_name
        if settings.jitsi_app_id:
            token = jitsi_jwt(
                app_id=settings.jitsi_app_id,
                app_secret=settings.jitsi_app_secret,
                room=request.call.room,
                display_name=name,
                domain=urlsplit(settings.jitsi_url).hostname or "",
                now=request.now,
            )
            return f"{url}?jwt={token}"
        # Without a JWT the name goes in the fragment: the browser keeps it, the server never receives it.
        return f"{url}#userInfo.displayName={quote(_json_string(name), safe='')}"


class BuiltinProvider:
    """The peer-to-peer WebRTC call page; signalling goes through the store's live feed."""

    name = "builtin"
    label = "Built-in browser call"
    runs_in_call_page = True

    def new_room(self) -> str:
        return room_name()

    def check(self, settings: Settings) -> None:
        parse_ice_servers(settings.ice_servers)

    def join_url(self, request: JoinRequest) -> str:
        return request.call_page_url


def _json_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


_PROVIDERS: dict[str, VideoProvider] = {}


def register_provider(provider: VideoProvider) -> None:
    """Make ``provider`` selectable by its name (a later registration with the same name replaces it)."""
    if not isinstance(provider, VideoProvider) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", provider.name):
        raise InvalidInput("A video provider needs a lower-case name (up to 32 characters) and the VideoProvider API.")
    _PROVIDERS[provider.name] = provider


def provider_names() -> list[str]:
    """Names of the registered providers."""
    return sorted(_PROVIDERS)


def get_provider(name: str) -> VideoProvider:
    """The provider called ``name``; ``InvalidInput`` naming the choices otherwise."""
    try:
        return _PROVIDERS[str(name).strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"Unknown video provider {name!r}: set CONFERENCING_VIDEO_PROVIDER to one of {', '.join(provider_names())}."
        ) from None


def info_url(settings: Settings) -> str | None:
    """The "more information" link if it is a usable http(s) URL (else none is shown)."""
    text = str(settings.video_info_url or "").strip()
    try:
        check_http_url(text, setting="CONFERENCING_VIDEO_INFO_URL")
    except InvalidInput:
        return None
    return text


register_provider(JitsiProvider())
register_provider(BuiltinProvider())

__all__ = [
    "BuiltinProvider",
    "JitsiProvider",
    "JoinRequest",
    "VideoProvider",
    "get_provider",
    "info_url",
    "jitsi_jwt",
    "parse_ice_servers",
    "provider_names",
    "register_provider",
    "room_name",
]

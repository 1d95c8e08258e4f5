"""Meeting rooms: video providers behind a small interface, unguessable room names, Jitsi JWTs, ICE servers.

A provider turns a stored call into the URL a member's browser opens. Two are built in:

- ``jitsi`` (:mod:`.jitsi`): Jitsi Meet at ``Settings.jitsi_url``. The room is ``<base>/<room>``; with
  ``jitsi_app_id`` and ``jitsi_app_secret`` set (self-hosted Jitsi with token authentication) the URL carries a
  short-lived JWT with the user's display name and the room (claims ``aud``, ``iss``, ``sub``, ``room``, ``exp``,
  ``context.user.name``).
- ``builtin`` (:mod:`.builtin`): a peer-to-peer WebRTC page (``dashboards/call.ipynb``) whose signalling travels
  through the store. It needs no outside service on a LAN; STUN/TURN servers come from ``Settings.ice_servers``.

Add a provider by implementing :class:`VideoProvider` and calling :func:`register_provider` (:mod:`.registry`);
select it with ``CONFERENCING_VIDEO_PROVIDER``. Room names never contain personal data: they are random tokens
only (:mod:`.base`).
"""

from __future__ import annotations

from conferencing_widgets.calls.providers.base import (
    ROOM_PATTERN,
    ROOM_PREFIX,
    ROOM_TOKEN_BYTES,
    JoinRequest,
    VideoProvider,
    check_http_url,
    info_url,
    room_name,
)
from conferencing_widgets.calls.providers.builtin import BuiltinProvider, parse_ice_servers
from conferencing_widgets.calls.providers.jitsi import JWT_AUDIENCE, JWT_TTL, JitsiProvider, jitsi_jwt
from conferencing_widgets.calls.providers.registry import get_provider, provider_names, register_provider

__all__ = [
    "BuiltinProvider",
    "JWT_AUDIENCE",
    "JWT_TTL",
    "JitsiProvider",
    "JoinRequest",
    "ROOM_PATTERN",
    "ROOM_PREFIX",
    "ROOM_TOKEN_BYTES",
    "VideoProvider",
    "check_http_url",
    "get_provider",
    "info_url",
    "jitsi_jwt",
    "parse_ice_servers",
    "provider_names",
    "register_provider",
    "room_name",
]

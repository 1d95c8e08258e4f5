"""Jitsi Meet: the room URL at ``Settings.jitsi_url``, and the JWT of Jitsi's token authentication."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import jwt

from conferencing_widgets.calls.providers.base import JoinRequest, check_http_url, room_name
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput

JWT_TTL = timedelta(hours=2)
"""Lifetime of a Jitsi JWT; a member who joins later gets a fresh one."""
JWT_AUDIENCE = "jitsi"
"""The ``aud`` claim Jitsi's token authentication expects by default."""


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
        return f"{url}#userInfo.displayName={quote(json.dumps(name, ensure_ascii=False), safe='')}"


__all__ = ["JWT_AUDIENCE", "JWT_TTL", "JitsiProvider", "jitsi_jwt"]

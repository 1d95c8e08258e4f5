"""The built-in call: a peer-to-peer WebRTC page whose signalling goes through the store's live feed."""

from __future__ import annotations

from conferencing_widgets.calls.providers.base import JoinRequest, room_name
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput


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


__all__ = ["BuiltinProvider", "parse_ice_servers"]

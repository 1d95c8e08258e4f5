"""The providers a deployment can select by name (``CONFERENCING_VIDEO_PROVIDER``).

This module-level dict is the public extension point, on purpose: a deployment adds its own provider once at
import time with :func:`register_provider`, and every session of the process then finds it by name. It holds
stateless provider objects only, never per-user data.
"""

from __future__ import annotations

import re

from conferencing_widgets.calls.providers.base import VideoProvider
from conferencing_widgets.calls.providers.builtin import BuiltinProvider
from conferencing_widgets.calls.providers.jitsi import JitsiProvider
from conferencing_widgets.core.errors import InvalidInput

_PROVIDERS: dict[str, VideoProvider] = {}
"""Registered providers by name (see the module docstring)."""


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


register_provider(JitsiProvider())
register_provider(BuiltinProvider())

__all__ = ["get_provider", "provider_names", "register_provider"]

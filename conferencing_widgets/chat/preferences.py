"""A user's own choices: the UI language and whether read receipts are shared.

Each user reads and sets only their own preferences; unknown keys and values are refused with a clear message,
so nothing a page sends can store junk. Keys absent from the store take their defaults.
"""

from __future__ import annotations

from collections.abc import Callable

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import LANGUAGES, _, supported
from conferencing_widgets.store import preferences as prefs_store


def _language(value: str) -> str | None:
    return supported(value) if value.strip().lower() in LANGUAGES else None


def _on_off(value: str) -> str | None:
    value = value.strip().lower()
    return value if value in ("on", "off") else None


KNOWN: dict[str, tuple[Callable[[str], str | None], str | None]] = {
    # key -> (its parser, which returns None for a value it refuses; the default)
    "language": (_language, None),
    "receipts": (_on_off, "on"),
}
"""Preference keys, how each value is checked, and its default (None: decided elsewhere, e.g. the browser)."""


class Preferences:
    """The signed-in user's preferences (``Session.preferences``)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def all(self) -> dict[str, str | None]:
        """Every known preference, stored value or default."""
        self.service.require_active()
        stored = prefs_store.preferences(self.service.store, self.service.login)
        return {key: stored.get(key, default) for key, (_parse, default) in KNOWN.items()}

    def get(self, key: str) -> str | None:
        """One preference (its default when unset)."""
        if key not in KNOWN:
            raise InvalidInput(_("Unknown preference {key!r}.").format(key=key))
        return self.all()[key]

    def set(self, key: str, value: object) -> str | None:
        """Set one of your preferences; None goes back to the default. Returns the value now in effect."""
        if key not in KNOWN:
            raise InvalidInput(_("Unknown preference {key!r}.").format(key=key))
        self.service.require_active()
        parse, default = KNOWN[key]
        if value is None:
            prefs_store.set_preference(self.service.store, self.service.login, key, None)
            return default
        clean = parse(value) if isinstance(value, str) and len(value) <= 50 else None
        if clean is None:
            raise InvalidInput(_("{value!r} is not a valid value for {key!r}.").format(value=str(value)[:50], key=key))
        prefs_store.set_preference(self.service.store, self.service.login, key, clean)
        return clean

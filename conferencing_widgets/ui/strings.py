"""Translated words the anywidget views show, sent once per widget in a ``strings`` trait.

The JS never holds English of its own: it reads ``model.get("strings")``. ``locale`` is the BCP 47 tag the views
pass to ``toLocale*`` (``pl-PL``: Polish dates, 24-hour clock); empty means "follow the browser" (English).
"""

from __future__ import annotations

from typing import Any

import traitlets

from conferencing_widgets.core.i18n import _, current_language

BROWSER_LOCALES = {"pl": "pl-PL"}


def locale_tag() -> str:
    """The locale the browser formats dates in for the active language ("" = the browser's own)."""
    return BROWSER_LOCALES.get(current_language(), "")


def common() -> dict[str, str]:
    """Words every view with dates needs."""
    return {"locale": locale_tag(), "today": _("Today"), "yesterday": _("Yesterday")}


def strings_trait(help_text: str = "Translated words of the view, plus the date locale.") -> Any:
    """A synced ``Dict`` trait; fill it with ``@traitlets.default("strings")`` so the active language applies."""
    return traitlets.Dict(help=help_text).tag(sync=True)

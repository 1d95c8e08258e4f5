"""The language switch (CSS class ``cw-lang``): stores the user's choice, then the page shows it.

Under Voila the page reloads with the link's ``lang`` replaced (the link's language wins over the stored choice,
so the new URL must carry it). Inline in JupyterLab a reload would reload JupyterLab, so the switch says to run the
cell again instead.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from conferencing_widgets.chat.preferences import Preferences
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _, current_language
from conferencing_widgets.ui.strings import ASSETS

LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
"""Each language named in itself, as language menus do."""


class LanguageSwitch(anywidget.AnyWidget):
    """A labelled select of the shipped languages; choosing one stores it as the user's preference."""

    _esm = ASSETS / "language.js"
    label = traitlets.Unicode(help="The select's visible label.").tag(sync=True)
    choices: traitlets.List[list[str]] = traitlets.List(help="[code, name] of each language.").tag(sync=True)
    value = traitlets.Unicode(help="The language shown now.").tag(sync=True)
    message = traitlets.Unicode("", help="A note or error after a choice.")

    def __init__(self, preferences: Preferences, **kwargs: Any) -> None:
        super().__init__(
            label=_("Language"),
            choices=[[code, name] for code, name in LANGUAGE_NAMES.items()],
            value=current_language(),
            **kwargs,
        )
        self.preferences = preferences
        self.add_class("cw-lang")
        self.on_msg(self._on_msg)

    def choose(self, lang: str) -> str | None:
        """Store ``lang`` as the user's language (as if chosen in the page); returns it, or None if refused."""
        try:
            chosen = self.preferences.set("language", lang)
        except ConferencingError as exc:
            self.message = str(exc)
            return None
        self.message = _("Run the cell again to see the app in the new language.")
        self.send({"type": "chosen", "lang": chosen})
        return chosen

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "choose":
            self.choose(str(content.get("lang", "")))

"""Translated words the anywidget views show, sent once per widget in a ``strings`` trait.

The JS never holds English of its own: it reads ``model.get("strings")``. ``locale`` is the BCP 47 tag the views
pass to ``toLocale*`` (``pl-PL``: Polish dates, 24-hour clock); empty means "follow the browser" (English).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import traitlets

from conferencing_widgets.core.i18n import _, current_language

BROWSER_LOCALES = {"pl": "pl-PL"}
ASSETS = Path(__file__).parent / "assets"
"""The views' JS and CSS files."""


@cache
def view_js(*names: str) -> str:
    """A view's ESM source: its ``assets/`` files joined in order, with ``tr.js`` in front (the ``S`` words and
    ``tr()`` every view shares, kept once instead of copied into each file)."""
    return "".join((ASSETS / name).read_text(encoding="utf-8") for name in ("tr.js", *names))


def locale_tag() -> str:
    """The locale the browser formats dates in for the active language ("" = the browser's own)."""
    return BROWSER_LOCALES.get(current_language(), "")


def common() -> dict[str, str]:
    """Words every view with dates needs."""
    return {"locale": locale_tag(), "today": _("Today"), "yesterday": _("Yesterday")}


def strings_trait(help_text: str = "Translated words of the view, plus the date locale.") -> Any:
    """A synced ``Dict`` trait; fill it with ``@traitlets.default("strings")`` so the active language applies."""
    return traitlets.Dict(help=help_text).tag(sync=True)


_TR_CALL = re.compile(r'\btr\("((?:[^"\\]|\\.)*)"')


@cache
def js_messages(source: str) -> tuple[str, ...]:
    """The English texts a view's JS translates with ``tr("...")`` (Babel extracts the same calls)."""
    return tuple(dict.fromkeys(json.loads(f'"{m}"') for m in _TR_CALL.findall(source)))


def js_strings(esm: str | Path) -> dict[str, str]:
    """The ``strings`` of a view (its JS file or, as anywidget keeps it, the JS text): each of its ``tr("...")``
    texts in the active language, plus the date words."""
    source = esm.read_text(encoding="utf-8") if isinstance(esm, Path) else str(esm)
    return {**common(), **{m: _(m) for m in js_messages(source)}}


class TranslatedView(traitlets.HasTraits):
    """Mixin of an anywidget whose JS says ``tr("...")``: ``strings`` is filled for the language active at
    construction (one kernel, one viewer, one language)."""

    _esm: Any  # the view's JS file, set by each widget class
    strings: traitlets.Dict[str, str] = strings_trait()

    @traitlets.default("strings")
    def _default_strings(self) -> dict[str, str]:
        return js_strings(self._esm)

"""Translations of user-visible text: ``_("...")`` and ``ngettext(...)`` with gettext catalogues.

One kernel serves one viewer, so the active language is process-wide (``set_language``); ``language(...)``
switches it for a block (CLI commands, tests, a transcript rendered for someone else). Catalogues live in
``conferencing_widgets/locale/<lang>/LC_MESSAGES/conferencing.po`` (Babel extracts and compiles them).
Until a catalogue exists for a language, its text falls back to English.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

DOMAIN = "conferencing"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "pl")
"""The languages the UI ships; the first is the default."""

_active = LANGUAGES[0]


def supported(lang: str | None) -> str | None:
    """``lang`` reduced to a shipped language (``pl-PL`` -> ``pl``), or None when it is not shipped."""
    if not lang:
        return None
    base = lang.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The first shipped language of an HTTP ``Accept-Language`` header, by preference (``q``), or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:1000].split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag))
    for quality, _position, tag in sorted(ranked):
        lang = supported(tag)
        if lang and quality < 0:
            return lang
    return None


def choose_language(
    *,
    link: str | None = None,
    preference: str | None = None,
    accept_language: str | None = None,
    default: str | None = None,
) -> str:
    """The viewer's language, first match wins: the link's ``lang``, the stored preference, the browser's
    ``Accept-Language``, the ``CONFERENCING_DEFAULT_LANGUAGE`` setting, English."""
    return (
        supported(link)
        or supported(preference)
        or from_accept_language(accept_language)
        or supported(default)
        or LANGUAGES[0]
    )


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English text when there is none).

    ``make install`` compiles each ``.po`` to ``.mo``; where that step did not run (a wheel built without it, a
    fresh checkout), the ``.po`` is compiled in memory, so a language never silently falls back to English.
    """
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if po.is_file():
        return gettext.GNUTranslations(_compile(po))
    return gettext.NullTranslations()


def _compile(po: Path) -> io.BytesIO:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog)
    out.seek(0)
    return out


def set_language(lang: str | None) -> str:
    """Make ``lang`` the active language (unknown ones keep the default); returns the one now active."""
    global _active
    _active = supported(lang) or LANGUAGES[0]
    return _active


def current_language() -> str:
    """The active language code."""
    return _active


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Use ``lang`` inside the block, then restore the previous language."""
    previous = _active
    try:
        yield set_language(lang)
    finally:
        set_language(previous)


def _(message: str) -> str:
    """``message`` in the active language."""
    return translations(_active).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form for ``n`` in the active language (Polish has three)."""
    return translations(_active).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the active language, disambiguated by ``context``."""
    return translations(_active).pgettext(context, message)

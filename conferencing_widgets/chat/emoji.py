"""Which reactions are accepted: the fixed set, or any ONE emoji typed in (one short grapheme cluster).

Python's standard library has no grapheme segmentation, so this is a small parser of the emoji sequences of
Unicode TR51: a base emoji with an optional skin tone, variation selector, keycap or tag sequence, joined by
ZWJ into one glyph (families, professions), or a pair of regional indicators (a flag). Anything else -- text,
HTML, two emoji, whitespace, control characters -- is refused, so a reaction can never carry markup or words.
"""

from __future__ import annotations

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _

QUICK_REACTIONS = ("👍", "✅", "👀", "❤️", "🎉", "❓")
"""The fixed set offered under every message."""
MAX_EMOJI_CODEPOINTS = 16
"""Longer than any emoji in use (a family of four with skin tones is 15)."""

_ZWJ, _VS15, _VS16, _KEYCAP = 0x200D, 0xFE0E, 0xFE0F, 0x20E3
_BASE_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2300, 0x23FF),
    (0x2B00, 0x2BFF),
    (0x2190, 0x21FF),
    (0x25A0, 0x25FF),
    (0x2934, 0x2935),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x24C2, 0x24C2),
)
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))


def _is_regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _is_modifier(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF


def _is_tag(cp: int) -> bool:
    return 0xE0020 <= cp <= 0xE007F


def _is_base(cp: int) -> bool:
    return not _is_regional(cp) and not _is_modifier(cp) and any(lo <= cp <= hi for lo, hi in _BASE_RANGES)


def _element(cps: list[int], i: int) -> int:
    """Parse one emoji element at ``i``; returns the index after it, or -1 when there is none."""
    n = len(cps)
    if i < n - 1 and _is_regional(cps[i]) and _is_regional(cps[i + 1]):
        return i + 2
    if i < n and cps[i] in _KEYCAP_BASES:
        j = i + 1
        if j < n and cps[j] == _VS16:
            j += 1
        return j + 1 if j < n and cps[j] == _KEYCAP else -1
    if i >= n or not _is_base(cps[i]):
        return -1
    j = i + 1
    if j < n and _is_modifier(cps[j]):
        j += 1
    if j < n and cps[j] in (_VS15, _VS16):
        j += 1
    if j < n and cps[j] == _KEYCAP:
        j += 1
    while j < n and _is_tag(cps[j]):
        j += 1
    return j


def is_single_emoji(text: str) -> bool:
    """Whether ``text`` is exactly one emoji (possibly a ZWJ sequence, a flag or a keycap)."""
    cps = [ord(ch) for ch in text]
    if not cps or len(cps) > MAX_EMOJI_CODEPOINTS:
        return False
    i = _element(cps, 0)
    while 0 < i < len(cps) and cps[i] == _ZWJ:
        i = _element(cps, i + 1)
    return i == len(cps)


def clean_emoji(text: object) -> str:
    """The reaction as stored, or ``InvalidInput`` saying what is accepted."""
    if not isinstance(text, str):
        raise InvalidInput(_("A reaction must be an emoji."))
    emoji = text.strip()
    if not is_single_emoji(emoji):
        raise InvalidInput(_("A reaction must be one emoji, such as 👍 or 🎉 (no text, no several emoji)."))
    return emoji

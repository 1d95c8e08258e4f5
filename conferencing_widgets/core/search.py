"""The message search language, parsed into plain data: words plus ``key:value`` filters. No I/O.

``spindle from:tom in:12 case:SR-1001 after:2026-01-01 before:2026-02-01 has:file has:whiteboard is:mention``

User text never reaches ``MATCH`` or ``to_tsquery`` raw: it is cut into words of letters and digits only
(``[^\\W_]+``), folded (lower case, accents off, ``ł`` -> ``l``) and shortened to a stem, and the store quotes each
stem itself. So ``"``, ``*``, ``NEAR``, ``:``, ``OR``, SQL and FTS operators are just words (or nothing).
Unknown ``key:value`` pairs are searched as words. Bad filter values (a malformed date, ``has:nonsense``) raise
``InvalidInput`` saying what works.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded
from conferencing_widgets.core.i18n import _

MAX_QUERY_CHARS = 500
"""Longer queries are refused (a 10,000-character paste is not a search)."""
MAX_TERMS = 12
"""More words than this are refused: each is one more index lookup."""
MIN_TERM_CHARS = 2
"""Shorter words are dropped: a one-letter prefix matches nearly everything."""
MIN_STEM_CHARS = 4
"""Stems keep at least this many characters."""

WORD = re.compile(r"[^\W_]+")
"""A word of the index: letters and digits (both backends' tokenizers split at everything else)."""
_FILTER = re.compile(r'(?<!\S)([A-Za-z]+):(?:"([^"]*)"|(\S+))')
_VOWELS = "aeiouy"
#: Letters NFKD does not decompose but both accent-folding rules (PostgreSQL unaccent, our SQLite trigger) map.
FOLD_TABLE = str.maketrans({"ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o"})
HAS_VALUES = ("file", "whiteboard")


def fold(text: str) -> str:
    """Lower case without accents: ``Łożysko`` -> ``lozysko`` (what both indexes store)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(FOLD_TABLE).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A prefix that matches the word's inflections: trailing vowels off (``wrzeciono`` -> ``wrzecion``).

    Polish (and German, English) inflect mostly at the end: ``wrzeciono``/``wrzeciona``/``wrzecionem``,
    ``awaria``/``awarii``. The stem is matched as a prefix, so ``silnik`` finds ``silnika`` too.
    """
    out = word
    while len(out) > MIN_STEM_CHARS and out[-1] in _VOWELS and len(word) - len(out) < 2:
        out = out[:-1]
    return out


def terms_of(text: str) -> list[str]:
    """The folded, de-duplicated stems of ``text``'s words (shorter than ``MIN_TERM_CHARS`` dropped)."""
    out: list[str] = []
    for word in WORD.findall(fold(text)):
        if len(word) >= MIN_TERM_CHARS:
            s = stem(word)
            if s not in out:
                out.append(s)
    return out


@dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """A parsed search: what to find and where. Empty tuples mean "no such filter"."""

    terms: tuple[str, ...] = ()
    """Folded stems, all required, each matched as a word prefix."""
    conversations: tuple[str, ...] = ()
    """``in:`` values: conversation ids or titles (the service resolves them among readable conversations)."""
    authors: tuple[str, ...] = ()
    """``from:`` logins."""
    cases: tuple[str, ...] = ()
    """``case:`` service request numbers."""
    after: datetime | None = None
    """Only messages at or after this instant (``after:`` a day: from its start, UTC)."""
    before: datetime | None = None
    """Only messages before this instant (``before:`` a day: before its start, UTC)."""
    has: tuple[str, ...] = ()
    """``file`` and/or ``whiteboard``: only messages of those kinds."""
    mentions_me: bool = False
    """``is:mention``: only messages that mention the searching user."""
    words: tuple[str, ...] = field(default=(), compare=False)
    """The words as typed (folded, unstemmed), for highlighting."""

    @property
    def is_empty(self) -> bool:
        """Nothing to search for: no word and no filter."""
        return not (
            self.terms or self.conversations or self.authors or self.cases or self.after or self.before
            or self.has or self.mentions_me
        )  # fmt: skip


def _day(value: str, key: str) -> datetime:
    try:
        d = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            _("{key}: needs a date as YYYY-MM-DD, for example {key}:2026-03-01.").format(key=key)
        ) from exc
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def parse_query(text: str) -> SearchQuery:
    """Parse the search box's text. Raises ``InvalidInput`` / ``LimitExceeded`` with what to change."""
    if not isinstance(text, str):
        raise InvalidInput(_("A search must be text."))
    if len(text) > MAX_QUERY_CHARS:
        raise LimitExceeded(
            _("The search is {n:,} characters long; the limit is {limit:,}. Use a few words.").format(
                n=len(text), limit=MAX_QUERY_CHARS
            )
        )
    convs: list[str] = []
    authors: list[str] = []
    cases: list[str] = []
    has: list[str] = []
    after: datetime | None = None
    before: datetime | None = None
    mentions_me = False
    rest: list[str] = []
    pos = 0
    for m in _FILTER.finditer(text):
        key, value = m.group(1).lower(), (m.group(2) if m.group(2) is not None else m.group(3)).strip()
        known = True
        if key == "in" and value:
            convs.append(value)
        elif key == "from" and value:
            authors.append(value.removeprefix("@"))
        elif key == "case" and value:
            cases.append(value)
        elif key == "after":
            after = _day(value, key)
        elif key == "before":
            before = _day(value, key)
        elif key == "has":
            if value.lower() not in HAS_VALUES:
                raise InvalidInput(_("has: takes 'file' or 'whiteboard', for example has:file."))
            has.append(value.lower())
        elif key == "is":
            if value.lower() != "mention":
                raise InvalidInput(_("is: takes 'mention' (messages that mention you): is:mention."))
            mentions_me = True
        else:
            known = False
        if known:
            rest.append(text[pos : m.start()])
            pos = m.end()
    rest.append(text[pos:])
    words_text = " ".join(rest)
    terms = terms_of(words_text)
    if len(terms) > MAX_TERMS:
        raise LimitExceeded(_("Search for at most {n} words at a time.").format(n=MAX_TERMS))
    return SearchQuery(
        terms=tuple(terms),
        conversations=tuple(dict.fromkeys(convs)),
        authors=tuple(dict.fromkeys(authors)),
        cases=tuple(dict.fromkeys(cases)),
        after=after,
        before=before,
        has=tuple(dict.fromkeys(has)),
        mentions_me=mentions_me,
        words=tuple(dict.fromkeys(w for w in WORD.findall(fold(words_text)) if len(w) >= MIN_TERM_CHARS)),
    )


def with_filters(
    query: SearchQuery,
    *,
    conversation: int | str | None = None,
    author: str | None = None,
    case: str | None = None,
    after: date | datetime | str | None = None,
    before: date | datetime | str | None = None,
    has: str | None = None,
    mentions_me: bool | None = None,
) -> SearchQuery:
    """``query`` with filters given as keyword arguments (``Service.search(..., author="tom")``) added."""
    changes: dict[str, object] = {}
    if conversation is not None:
        changes["conversations"] = (*query.conversations, str(conversation))
    if author is not None:
        changes["authors"] = (*query.authors, str(author).removeprefix("@"))
    if case is not None:
        changes["cases"] = (*query.cases, str(case))
    for key, value in (("after", after), ("before", before)):
        if value is None:
            continue
        if isinstance(value, datetime):
            changes[key] = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            changes[key] = datetime(value.year, value.month, value.day, tzinfo=UTC)
        else:
            changes[key] = _day(str(value), key)
    if has is not None:
        if has not in HAS_VALUES:
            raise InvalidInput(_("has: takes 'file' or 'whiteboard', for example has:file."))
        changes["has"] = (*query.has, has)
    if mentions_me is not None:
        changes["mentions_me"] = bool(mentions_me)
    return replace(query, **changes)  # type: ignore[arg-type]


def end_of_day(d: date) -> datetime:
    """The first instant after day ``d`` (UTC), for "until and including" ranges."""
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=1)


SNIPPET_CHARS = 160
"""About this many characters of a message around its first hit."""


def snippet(body: str, query: SearchQuery, width: int = SNIPPET_CHARS) -> str:
    """Safe HTML: a piece of ``body`` (Markdown stripped) around the first hit, hits in ``<mark>``.

    Escape first, then mark: the text is split at word boundaries, every piece is escaped on its own and only
    the pieces that match a stem are wrapped, so no user text can open or close a tag.
    """
    from conferencing_widgets.core.markup import escape_text, plain_preview

    text = plain_preview(body, limit=4_000)
    stems = query.terms
    hits = [m for m in WORD.finditer(text) if stems and any(fold(m.group(0)).startswith(t) for t in stems)]
    start = 0
    if hits and len(text) > width:
        start = max(0, hits[0].start() - width // 4)
        # Start at a word boundary, not inside a word.
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end - 1].isspace() and end - start < width + 20:
        end += 1
    out: list[str] = ["\u2026"] if start > 0 else []
    pos = start
    for m in hits:
        if m.start() < start or m.end() > end:
            continue
        out.append(escape_text(text[pos : m.start()]))
        out.append(f"<mark>{escape_text(m.group(0))}</mark>")
        pos = m.end()
    out.append(escape_text(text[pos:end]))
    if end < len(text):
        out.append("\u2026")
    return "".join(out)

"""Message text (Markdown) -> safe HTML, and plain-text helpers for names, previews and file names.

Two layers, so that one mistake is not enough for script to run (STACK_NOTES "Sanitising"):

1. markdown-it-py (CommonMark, ``html: False``: raw HTML in a message is shown as text) with tables and
   strikethrough. A core rule rewrites the token stream: links keep only http(s)/mailto targets (anything
   else, including ``#frag`` and relative links, becomes plain text), images become plain links (no remote
   image is ever fetched: privacy and tracking), headings become bold paragraphs.
2. ``nh3.clean`` with a small allow-list of tags and attributes and the same URL rule, so even HTML that the
   first layer should never produce cannot carry script, styles, classes, ``data-*`` or event handlers.

Nothing here is cached per user; the parser objects at module level are shared and stateless between calls.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.mentions import MENTION, login_of

__all__ = ["escape_text", "plain_preview", "render_markdown", "safe_filename_display"]

#: Tags that survive sanitising. Headings are rendered down to ``<p><strong>`` before this.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "hr", "li", "ol", "p", "pre", "s", "strong",
        "span", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
MENTION_CLASS = "cw-mention"
"""The only class any element may carry: a stored mention, ``<span class="cw-mention">@Name</span>``."""
#: Attributes that survive, per tag (values are checked further in ``_attribute_filter``). nh3 adds ``rel``.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "target"},
    "ol": {"start"},
    "span": {"class"},
    "td": {"align"},
    "th": {"align"},
}
LINK_REL = "noopener noreferrer nofollow"
_URL_SCHEMES = {"http", "https", "mailto"}
_ALIGN_VALUES = {"left", "center", "right"}
_ELLIPSIS = "\u2026"
#: Bidi embedding/override/isolate controls and the directional marks: they can make ``exe.pdf`` read as
#: ``fdp.exe`` and leak into the text around them.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_TABLE = {ord(c): None for c in _BIDI_CONTROLS}
_WHITESPACE_RUN = re.compile(r"\s+")
#: A preview never needs more than this much of a message; parsing less keeps history tiles cheap.
_PREVIEW_SOURCE_CHARS = 4_000
#: A file name extension kept when a long name is shortened ("report ... final.pdf").
_EXTENSION = re.compile(r"\.[^.\s]{1,10}$")


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"The {what} must be text, not {type(value).__name__}.")
    return value


def _is_allowed_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host and for ``mailto:`` addresses; False for everything else.

    Everything else includes ``javascript:``/``data:``/``vbscript:``, ``#fragments`` (with ``target=_blank``
    they opened a second copy of the dashboard, and a new kernel with it), relative and protocol-relative links.
    """
    low = url.strip().lower()
    if low.startswith("mailto:"):
        return len(low) > len("mailto:")
    if not low.startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(url.strip()).hostname)
    except ValueError:  # e.g. a malformed IPv6 host
        return False


def _text_of(tokens: list[Token] | None) -> str:
    """The plain text of inline tokens (as markdown-it's renderInlineAsText, without escaping)."""
    parts: list[str] = []
    for tok in tokens or []:
        if tok.type in ("text", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.children:
            parts.append(_text_of(tok.children))
    return "".join(parts)


def _text_token(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


def _safe_inline(children: list[Token]) -> list[Token]:
    """Links: allowed targets get ``target=_blank``, others are unwrapped. Images: become links (or text)."""
    out: list[Token] = []
    in_link = False  # CommonMark links do not nest
    dropped_link = False
    for tok in children:
        if tok.type == "link_open":
            href = tok.attrGet("href")
            if isinstance(href, str) and _is_allowed_url(href):
                tok.attrs = {"href": href, "target": "_blank"}  # drops "title": not on the allow-list anyway
                out.append(tok)
                dropped_link = False
            else:
                dropped_link = True
            in_link = True
        elif tok.type == "link_close":
            if not dropped_link:
                out.append(tok)
            in_link = dropped_link = False
        elif tok.type == "image":
            src = tok.attrGet("src")
            alt = _text_of(tok.children).strip()
            if in_link or not (isinstance(src, str) and _is_allowed_url(src)):
                out.append(_text_token(alt or "image"))
                continue
            link = Token("link_open", "a", 1)
            link.attrs = {"href": src, "target": "_blank"}
            out.extend([link, _text_token(alt or src), Token("link_close", "a", -1)])
        else:
            out.append(tok)
    return out


def _mention_tokens(children: list[Token], names: Mapping[str, str]) -> list[Token]:
    """``@login`` in plain text (not in code or links) -> a ``cw-mention`` span with the escaped display name,
    for the logins the message's stored mentions name (``names``); any other ``@word`` stays text."""
    out: list[Token] = []
    in_link = False
    for tok in children:
        if tok.type in ("link_open", "link_close"):
            in_link = tok.type == "link_open"
        if tok.type != "text" or in_link or "@" not in tok.content:
            out.append(tok)
            continue
        pos = 0
        for m in MENTION.finditer(tok.content):
            login = login_of(m)
            if login not in names:
                continue
            out.append(_text_token(tok.content[pos : m.start()]))
            span = Token("html_inline", "", 0)
            span.content = f'<span class="{MENTION_CLASS}">@{html.escape(names[login], quote=True)}</span>'
            out.append(span)
            pos = m.start() + 1 + len(login)
        out.append(_text_token(tok.content[pos:]))
    return out


def _safe_tokens(state: StateCore) -> None:
    """Core rule run after parsing: the token-level half of the sanitising (see module docstring)."""
    names = state.env.get("mentions") if isinstance(state.env, dict) else None
    for tok in state.tokens:
        if names and tok.type == "inline" and tok.children:
            tok.children = _mention_tokens(tok.children, names)
        if tok.type == "inline" and tok.children:
            tok.children = _safe_inline(tok.children)
        elif tok.type in ("heading_open", "heading_close"):
            # Chat text is not a document: a heading is shown as a bold paragraph.
            tok.tag = "p"
        elif tok.type in ("th_open", "td_open"):
            style = str(tok.attrGet("style") or "")
            tok.attrs = {}
            align = style.removeprefix("text-align:")
            if align in _ALIGN_VALUES:
                tok.attrs["align"] = align  # keeps the column alignment without allowing style=
        elif tok.type == "fence":
            tok.info = ""  # the info string would become class="language-..."
    # Wrap heading text in <strong> (done in a second pass so the list is not changed while read).
    for i, tok in enumerate(state.tokens):
        if tok.type == "heading_open" and i + 1 < len(state.tokens) and state.tokens[i + 1].type == "inline":
            inline = state.tokens[i + 1]
            inline.children = [Token("strong_open", "strong", 1), *(inline.children or []),
                               Token("strong_close", "strong", -1)]  # fmt: skip


def _build_parser() -> MarkdownIt:
    # breaks=True: in a chat a single Enter is meant as a new line. linkify stays off: it needs linkify-it-py.
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("cw_safe_tokens", _safe_tokens)
    return md


_MD = _build_parser()


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """nh3 callback: the second check of every attribute value that the allow-list lets through."""
    if tag == "a" and attr == "href":
        return value if _is_allowed_url(value) else None
    if tag == "a" and attr == "target":
        return "_blank"
    if tag == "ol" and attr == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    if attr == "align":
        return value if value in _ALIGN_VALUES else None
    if tag == "a" and attr == "rel":  # nh3 runs the filter on the rel it adds itself
        return LINK_REL
    if tag == "span" and attr == "class":
        return MENTION_CLASS if value == MENTION_CLASS else None
    return None  # nothing else is on the allow-list


def _sanitize(fragment: str) -> str:
    """The nh3 layer alone: any HTML in, only the allow-listed tags and attributes out."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str, mentions: Mapping[str, str] | None = None) -> str:
    """Render a message's Markdown source as a safe HTML fragment for ``innerHTML``.

    Raw HTML in the source is shown as text. Bold, italics, code, lists, quotes, tables, strikethrough and
    http(s)/mailto links (opening in a new tab with ``rel="noopener noreferrer nofollow"``) are kept; images
    are shown as links with their alt text; every other link target is dropped and its text kept.
    ``mentions`` maps the logins the message mentions (stored references) to display names: those ``@login``s
    become ``<span class="cw-mention">@Display Name</span>``.
    """
    source = _require_text(text, "message text")
    if not source.strip():
        return ""
    env = {"mentions": dict(mentions)} if mentions else {}
    return _sanitize(_MD.render(source, env)).strip()


def escape_text(text: str) -> str:
    """Plain text (a name, title or file name) as HTML text: ``&``, ``<``, ``>`` and both quotes escaped."""
    return html.escape(_require_text(text, "text"), quote=True)


def _drop_controls(text: str, *, keep_whitespace: bool) -> str:
    """Remove bidi controls and control characters; whitespace controls become spaces if asked."""
    text = text.translate(_BIDI_TABLE)
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            if keep_whitespace and ch.isspace():
                out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 2:
        raise InvalidInput(f"The length limit must be a whole number of at least 2, not {limit!r}.")


def plain_preview(text: str, limit: int = 120) -> str:
    """A one-line plain-text preview of a message (history tiles): Markdown syntax stripped, whitespace
    collapsed, cut to ``limit`` characters with an ellipsis. Plain text: callers must escape it (or set it
    with ``textContent``).
    """
    source = _require_text(text, "message text")
    _check_limit(limit)
    parts: list[str] = []
    for tok in _MD.parse(source[:_PREVIEW_SOURCE_CHARS]):
        if tok.type == "inline":
            parts.append(_text_of(tok.children))
        elif tok.type in ("fence", "code_block"):
            parts.append(tok.content)
    flat = _WHITESPACE_RUN.sub(" ", _drop_controls(" ".join(parts), keep_whitespace=True)).strip()
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + _ELLIPSIS


def safe_filename_display(name: str, limit: int = 120) -> str:
    """A file name made harmless for display: control characters and bidi override/isolate marks removed,
    whitespace collapsed, cut to ``limit`` characters with an ellipsis before the extension, and
    ``"unnamed file"`` for an empty name. Path-like names (``../../etc/passwd``) are shown as they are: this is
    a display string, never a path. Plain text: callers must escape it.
    """
    raw = _require_text(name, "file name")
    _check_limit(limit)
    shown = _WHITESPACE_RUN.sub(" ", _drop_controls(raw, keep_whitespace=True)).strip()
    if not shown:
        return "unnamed file"
    if len(shown) <= limit:
        return shown
    match = _EXTENSION.search(shown)
    ext = match.group(0) if match else ""
    room = limit - len(ext) - 1  # 1 for the ellipsis
    if room < 1:  # an extension too long for the limit: plain cut
        return shown[: limit - 1] + _ELLIPSIS
    return shown[:room].rstrip() + _ELLIPSIS + ext

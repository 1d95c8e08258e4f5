"""Readable transcripts of a conversation, or of every chat about one service case: Markdown or HTML.

A transcript holds the messages with authors and times, the files (names and sizes), the whiteboards
and the calls with their durations. The HTML is one standalone page with a small inline stylesheet and
a Content-Security-Policy that allows no scripts; message bodies go through the dashboard's sanitiser
(``markup.render_markdown``) and every other user value is escaped like ``markup.escape_text`` (autoescape).
The Markdown keeps message bodies as written, with raw HTML neutralised (``<`` becomes ``&lt;``), so
rendering it anywhere runs nothing.

One data model (``loading.Document``), two Jinja2 templates beside this module:
``templates/transcript.md.j2`` and ``templates/transcript.html.j2``.

Whiteboards are embedded as PNG when ``conferencing_widgets.whiteboard.raster.render_png(store,
whiteboard_id) -> bytes`` exists (the whiteboard feature provides it); otherwise they are listed by title.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from conferencing_widgets.core import templating
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.markup import escape_text, render_markdown, safe_filename_display
from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.store import Store
from conferencing_widgets.transcript.loading import (
    Document,
    document_for_ids,
    document_for_ref,
    document_for_service,
)
from conferencing_widgets.transcript.store import CallRecord

if TYPE_CHECKING:
    from conferencing_widgets.chat.service import Service

FORMATS = ("md", "html")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RENDER_HOOK = "conferencing_widgets.whiteboard.raster"

PngRenderer = Callable[[Store, int], bytes]


# -- whiteboard hook ----------------------------------------------------------------------------------------


def whiteboard_renderer() -> PngRenderer | None:
    """``whiteboard_render.render_png`` when the whiteboard feature provides it, else ``None``."""
    try:
        module = importlib.import_module(RENDER_HOOK)
    except ModuleNotFoundError as exc:
        if exc.name != RENDER_HOOK:
            raise
        return None
    fn = getattr(module, "render_png", None)
    return fn if callable(fn) else None


def _png_data_uri(render: PngRenderer | None, store: Store, board_id: int) -> str | None:
    if render is None:
        return None
    try:
        png = render(store, board_id)
    except Exception:  # noqa: BLE001 - a failed preview must not lose the transcript: list it by title
        return None
    if not isinstance(png, bytes | bytearray) or not bytes(png).startswith(PNG_SIGNATURE):
        return None
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


# -- formatting helpers (template filters) ----------------------------------------------------------------------


def human_size(n: int) -> str:
    """``532 bytes``, ``12.4 KB``, ``3.1 MB`` (powers of 1024)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def human_duration(start: datetime, end: datetime | None) -> str:
    """``45 s``, ``12 min 5 s``, ``1 h 3 min``; ``ongoing`` without an end."""
    if end is None:
        return "ongoing"
    secs = max(0, int(round((end - start).total_seconds())))
    h, rest = divmod(secs, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h} h {m} min"
    if m:
        return f"{m} min {sec} s"
    return f"{sec} s"


def _call_duration(call: CallRecord) -> str:
    return human_duration(call.started_at, call.ended_at)


def _file_name(name: str) -> str:
    """A file name as the dashboard shows it: no control or bidi-override characters (``exe.pdf`` tricks)."""
    return safe_filename_display(name, 200)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


_KIND_LABEL = {ConversationKind.DIRECT: "Direct chat", ConversationKind.SERVICE_CASE: "Service case chat"}

# Inline specials only (user values never start a line): emphasis, code, links, tables, strikethrough.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"} | {"<": "&lt;", "&": "&amp;"})


def _md(text: str) -> str:
    """One line of user text, inert in Markdown: specials escaped, raw HTML impossible."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


# An inline link whose destination is not plainly http(s) or mailto (javascript:, data:, entity tricks).
_UNSAFE_LINK = re.compile(r"\]\((?!\s*(?:https?://|mailto:))", re.IGNORECASE)


def _md_body(text: str) -> str:
    """A message body kept as written, quoted, and inert in any Markdown renderer.

    ``<`` cannot open a tag or autolink (it becomes ``&lt;``), links other than http(s)/mailto and link
    reference definitions are broken up with a backslash, so they show as text.
    """
    text = text.replace("\r\n", "\n").replace("<", "&lt;").replace("]:", "]\\:")
    lines = _UNSAFE_LINK.sub(r"]\\(", text).split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


# -- templates -----------------------------------------------------------------------------------------------


@jinja2.pass_eval_context
def _finalize(ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
    # In the HTML template every value is escaped as markup.escape_text does (quotes as &quot; / &#x27;),
    # which the transcript has always written; autoescape then leaves the escaped Markup alone.
    if ctx.autoescape and not hasattr(value, "__html__"):
        return Markup(escape_text(str(value)))
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The transcript's templates: autoescape for ``*.html.j2``, undefined values are errors."""
    env = templating.environment(
        "transcript/templates",
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    # Headings come out in the language active when the transcript renders (``language(...)`` for someone else's).
    env.filters.update(
        md=_md,
        md_body=_md_body,
        markdown=lambda text, mentions=None: Markup(render_markdown(text, mentions)),
        utc=_when,
        iso=_iso,
        human_size=human_size,
        duration=_call_duration,
        file_name=_file_name,
        kind_label=_KIND_LABEL.__getitem__,
        grouped="{:,}".format,
    )
    return env


def _render(store: Store, doc: Document, fmt: str) -> str:
    render = whiteboard_renderer() if any(chat.boards for chat in doc.chats) else None
    text = (
        environment()
        .get_template(f"transcript.{fmt}.j2")
        .render(doc=doc, png=lambda board_id: _png_data_uri(render, store, board_id))
    )
    return text if fmt == "html" else text.rstrip("\n") + "\n"


# -- public API ------------------------------------------------------------------------------------------------


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown transcript format {fmt!r}: use md or html.")
    return fmt


def render(store: Store, conversation_ids: Sequence[int], *, fmt: str = "md") -> str:
    """The transcript of these conversations (operator view: no access checks)."""
    _check_format(fmt)
    return _render(store, document_for_ids(store, conversation_ids), fmt)


def render_ref(store: Store, ref: str | int, *, fmt: str = "md") -> str:
    """The transcript of a conversation id, or of every chat of a case number (operator view)."""
    _check_format(fmt)
    return _render(store, document_for_ref(store, ref), fmt)


def for_service(service: Service, ref: str | int, *, fmt: str = "md", notes: bool = True) -> str:
    """A transcript with the user's rights: a readable conversation id, or the case chats they may read.

    Internal notes are in it for vendor staff only, marked "internal note"; ``notes=False`` leaves them out (a
    transcript to give to a customer)."""
    _check_format(fmt)
    return _render(service.store, document_for_service(service, ref, notes=notes), fmt)


__all__ = ["FORMATS", "for_service", "human_duration", "human_size", "render", "render_ref", "whiteboard_renderer"]

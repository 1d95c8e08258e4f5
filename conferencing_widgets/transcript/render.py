"""Readable transcripts of a conversation, or of every chat about one service case: Markdown or HTML.

A transcript holds the messages with authors and times, the files (names and sizes), the whiteboards
and the calls with their durations. The HTML is one standalone page with a small inline stylesheet and
a Content-Security-Policy that allows no scripts; message bodies go through the dashboard's sanitiser
(``markup.render_markdown``) and every other user value through ``markup.escape_text``. The Markdown
keeps message bodies as written, with raw HTML neutralised (``<`` becomes ``&lt;``), so rendering it
anywhere runs nothing.

Whiteboards are embedded as PNG when ``conferencing_widgets.whiteboard.raster.render_png(store,
whiteboard_id) -> bytes`` exists (the whiteboard feature provides it); otherwise they are listed by title.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.model import Conversation, ConversationKind, Message, ServiceCase, User
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.store import schema as s

if TYPE_CHECKING:
    from conferencing_widgets.chat.service import Service

FORMATS = ("md", "html")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RENDER_HOOK = "conferencing_widgets.whiteboard.raster"

PngRenderer = Callable[[Store, int], bytes]


@dataclass(frozen=True, kw_only=True)
class _File:
    name: str
    size: int
    media_type: str
    uploader: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class _Board:
    id: int
    title: str
    created_by: str
    created_at: datetime
    strokes: int


@dataclass(frozen=True, kw_only=True)
class _Call:
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    participants: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _Chat:
    conversation: Conversation
    group_name: str
    messages: list[Message]
    files: list[_File]
    boards: list[_Board]
    calls: list[_Call]


@dataclass(frozen=True, kw_only=True)
class _Document:
    title: str
    case: ServiceCase | None
    case_group: str
    chats: list[_Chat]
    people: dict[str, User]
    generated_at: datetime


# -- loading --------------------------------------------------------------------------------------------


def _all_messages(store: Store, conversation_id: int) -> list[Message]:
    out: list[Message] = []
    while True:
        page = store.latest_messages(conversation_id, limit=1000, after_id=out[-1].id if out else 0)
        out += page
        if len(page) < 1000:
            return out


def _load_chat(store: Store, conv: Conversation) -> _Chat:
    msgs = _all_messages(store, conv.id)
    with store.reading() as conn:
        a = s.attachments
        files = [
            _File(name=r.name, size=int(r.size), media_type=r.media_type, uploader=r.uploader, created_at=r.created_at)
            for r in conn.execute(select(a).where(a.c.conversation_id == conv.id).order_by(a.c.id))
        ]
        w, st = s.whiteboards, s.strokes
        count = (
            select(func.count())
            .select_from(st)
            .where(st.c.whiteboard_id == w.c.id, st.c.deleted == False)  # noqa: E712
            .scalar_subquery()
        )
        boards = [
            _Board(
                id=int(r.id), title=r.title, created_by=r.created_by, created_at=r.created_at, strokes=int(r.strokes)
            )
            for r in conn.execute(
                select(w.c.id, w.c.title, w.c.created_by, w.c.created_at, count.label("strokes"))
                .where(w.c.conversation_id == conv.id)
                .order_by(w.c.id)
            )
        ]
        k, cp = s.calls, s.call_participants
        rows = conn.execute(select(k).where(k.c.conversation_id == conv.id).order_by(k.c.id)).all()
        joined: dict[int, list[str]] = {}
        if rows:
            for p in conn.execute(
                select(cp.c.call_id, cp.c.login)
                .where(cp.c.call_id.in_([r.id for r in rows]))
                .order_by(cp.c.joined_at, cp.c.login)
            ):
                joined.setdefault(int(p.call_id), []).append(p.login)
        calls = [
            _Call(
                started_by=r.started_by,
                started_at=r.started_at,
                ended_at=r.ended_at,
                participants=tuple(joined.get(int(r.id), [])),
            )
            for r in rows
        ]
    if conv.case_id is not None:
        group_id = store.get_case(conv.case_id).group_id
    else:
        group_id = store.get_user(conv.created_by).group_id
    return _Chat(
        conversation=conv,
        group_name=store.get_group(group_id).name,
        messages=msgs,
        files=files,
        boards=boards,
        calls=calls,
    )


def _document(store: Store, conversations: Sequence[Conversation], case: ServiceCase | None) -> _Document:
    chats = [_load_chat(store, c) for c in conversations]
    logins: set[str] = set()
    for chat in chats:
        logins |= set(chat.conversation.members) | {m.author for m in chat.messages}
        logins |= {f.uploader for f in chat.files} | {b.created_by for b in chat.boards}
        for call in chat.calls:
            logins |= {call.started_by, *call.participants}
    # Asked for a case: titled by the case. Asked for one chat: titled by the chat, its case named below.
    title = case.name if case is not None else conversations[0].title
    if case is None and len(conversations) == 1 and conversations[0].case_id is not None:
        case = store.get_case(conversations[0].case_id)
    return _Document(
        title=title,
        case=case,
        case_group=store.get_group(case.group_id).name if case is not None else "",
        chats=chats,
        people={u.login: u for u in store.users(logins=logins)},
        generated_at=utcnow(),
    )


def _resolve(store: Store, ref: str | int) -> tuple[list[Conversation], ServiceCase | None]:
    text = str(ref).strip()
    if not text:
        raise InvalidInput("Name a conversation id or a case number, e.g. 12 or SR-2026-00042.")
    if text.isdigit():
        return [store.get_conversation(int(text))], None
    case = store.get_case_by_number(text)
    convs = store.conversations_of_case(case.id)
    if not convs:
        raise NotFound(f"Case {case.number} has no conversations yet.")
    return convs, case


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


# -- formatting helpers ---------------------------------------------------------------------------------------


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


def _file_name(name: str) -> str:
    """A file name as the dashboard shows it: no control or bidi-override characters (``exe.pdf`` tricks)."""
    from conferencing_widgets.core.markup import safe_filename_display

    return safe_filename_display(name, 200)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _name(doc: _Document, login: str) -> str:
    user = doc.people.get(login)
    return f"{user.display_name} ({login})" if user else login


_KIND_LABEL = {ConversationKind.DIRECT: "Direct chat", ConversationKind.SERVICE_CASE: "Service case chat"}


# -- Markdown --------------------------------------------------------------------------------------------------

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


def _markdown(doc: _Document, render: PngRenderer | None, store: Store) -> str:
    out = [f"# Transcript: {_md(doc.title)}", ""]
    if doc.case is not None:
        out.append(f"- **Service case:** {_md(doc.case.name)} ({_md(doc.case_group)})")
        out.append(f"- **Status:** {_md(doc.case.status.value.replace('_', ' '))}")
    out.append(f"- **Generated:** {_when(doc.generated_at)}")
    out.append("")
    level = "##" if len(doc.chats) > 1 else ""
    for chat in doc.chats:
        c = chat.conversation
        if level:
            out += [f"## {_md(c.title)}", ""]
        out.append(f"- **Kind:** {_KIND_LABEL[c.kind]} ({_md(chat.group_name)})")
        out.append(f"- **Members:** {', '.join(_md(_name(doc, m)) for m in c.members)}")
        out.append(f"- **Started:** {_when(c.created_at)} by {_md(_name(doc, c.created_by))}")
        out.append("")
        sub = level + "##" if level else "##"
        out += [f"{sub} Messages ({len(chat.messages)})", ""]
        for m in chat.messages:
            flags = " · *edited*" if m.edited_at else ""
            out.append(f"**{_md(_name(doc, m.author))}** · {_when(m.created_at)}{flags}")
            out.append("")
            out.append("> *This message was deleted.*" if m.deleted else _md_body(m.body))
            out.append("")
        if not chat.messages:
            out += ["*No messages.*", ""]
        out += [f"{sub} Files ({len(chat.files)})", ""]
        if chat.files:
            out += ["| Name | Size | Type | Shared by | When |", "|---|---:|---|---|---|"]
            for f in chat.files:
                out.append(
                    f"| {_md(_file_name(f.name))} | {human_size(f.size)} | {_md(f.media_type)} | "
                    f"{_md(_name(doc, f.uploader))} | {_when(f.created_at)} |"
                )
        else:
            out.append("*No files.*")
        out.append("")
        out += [f"{sub} Whiteboards ({len(chat.boards)})", ""]
        for b in chat.boards:
            meta = f"{b.strokes} strokes, by {_md(_name(doc, b.created_by))}, {_when(b.created_at)}"
            uri = _png_data_uri(render, store, b.id)
            out.append(f"- **{_md(b.title)}** ({meta})")
            if uri:
                out += ["", f"  ![{_md(b.title)}]({uri})"]
        if not chat.boards:
            out.append("*No whiteboards.*")
        out.append("")
        out += [f"{sub} Calls ({len(chat.calls)})", ""]
        if chat.calls:
            out += ["| Started | Duration | Started by | Participants |", "|---|---|---|---|"]
            for k in chat.calls:
                people = ", ".join(_md(_name(doc, p)) for p in k.participants) or "-"
                out.append(
                    f"| {_when(k.started_at)} | {human_duration(k.started_at, k.ended_at)} | "
                    f"{_md(_name(doc, k.started_by))} | {people} |"
                )
        else:
            out.append("*No calls.*")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# -- HTML ------------------------------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;max-width:54rem;margin:2rem auto;
padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.3rem;border-bottom:1px solid #d9dee3;padding-bottom:.2rem;
margin-top:2.2rem}h3{font-size:1.05rem;margin:1.4rem 0 .5rem}
.meta{color:#52606d;margin:.1rem 0}.muted{color:#7b8794;font-style:italic}
ol.messages{list-style:none;padding:0;margin:0}
.message{border-left:3px solid #cbd2d9;padding:.25rem .8rem;margin:.6rem 0}
.message.vendor{border-left-color:#2f80ed}
.message header{font-size:.85rem;color:#52606d}.message .author{font-weight:600;color:#1f2933}
.message .body p{margin:.3rem 0}.message .body pre{background:#f5f7fa;padding:.5rem;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #e4e7eb}td.num{text-align:right;white-space:nowrap}
figure{margin:.8rem 0}figure img{max-width:100%;border:1px solid #d9dee3}figcaption{font-size:.85rem;color:#52606d}
@media print{body{margin:0;max-width:none}}
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _html(doc: _Document, render: PngRenderer | None, store: Store) -> str:
    from conferencing_widgets.core.markup import escape_text as esc
    from conferencing_widgets.core.markup import render_markdown

    def who(login: str) -> str:
        return esc(_name(doc, login))

    def when(at: datetime) -> str:
        return f'<time datetime="{esc(at.astimezone(UTC).isoformat())}">{esc(_when(at))}</time>'

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Transcript: {esc(doc.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>Transcript: {esc(doc.title)}</h1>",
    ]
    if doc.case is not None:
        parts.append(f'<p class="meta">Service case: {esc(doc.case.name)} ({esc(doc.case_group)})</p>')
        parts.append(f'<p class="meta">Status: {esc(doc.case.status.value.replace("_", " "))}</p>')
    parts += [f'<p class="meta">Generated: {when(doc.generated_at)}</p>', "</header>"]
    for chat in doc.chats:
        c = chat.conversation
        parts.append('<section class="chat">')
        parts.append(f"<h2>{esc(c.title)}</h2>")
        parts.append(f'<p class="meta">{esc(_KIND_LABEL[c.kind])} ({esc(chat.group_name)})</p>')
        parts.append(f'<p class="meta">Members: {", ".join(who(m) for m in c.members)}</p>')
        parts.append(f'<p class="meta">Started {when(c.created_at)} by {who(c.created_by)}</p>')
        parts.append(f"<h3>Messages ({len(chat.messages)})</h3>")
        if chat.messages:
            parts.append('<ol class="messages">')
            for m in chat.messages:
                user = doc.people.get(m.author)
                side = " vendor" if user is not None and user.is_vendor_staff else ""
                edited = ' · <span class="muted">edited</span>' if m.edited_at else ""
                body = '<p class="muted">This message was deleted.</p>' if m.deleted else render_markdown(m.body)
                parts.append(
                    f'<li class="message{side}"><header><span class="author">{who(m.author)}</span> · '
                    f'{when(m.created_at)}{edited}</header><div class="body">{body}</div></li>'
                )
            parts.append("</ol>")
        else:
            parts.append('<p class="muted">No messages.</p>')
        parts.append(f"<h3>Files ({len(chat.files)})</h3>")
        if chat.files:
            parts.append("<table><thead><tr><th>Name</th><th>Size</th><th>Type</th><th>Shared by</th><th>When</th>")
            parts.append("</tr></thead><tbody>")
            for f in chat.files:
                size = f'<td class="num" title="{f.size:,} bytes">{esc(human_size(f.size))}</td>'
                parts.append(
                    f"<tr><td>{esc(_file_name(f.name))}</td>{size}<td>{esc(f.media_type)}</td>"
                    f"<td>{who(f.uploader)}</td><td>{when(f.created_at)}</td></tr>"
                )
            parts.append("</tbody></table>")
        else:
            parts.append('<p class="muted">No files.</p>')
        parts.append(f"<h3>Whiteboards ({len(chat.boards)})</h3>")
        if chat.boards:
            parts.append("<ul>")
            for b in chat.boards:
                uri = _png_data_uri(render, store, b.id)
                meta = f"{b.strokes} strokes, by {who(b.created_by)}, {when(b.created_at)}"
                img = f'<figure><img src="{uri}" alt="{esc(b.title)}"><figcaption>' if uri else ""
                end = "</figcaption></figure>" if uri else ""
                parts.append(f"<li>{img}<strong>{esc(b.title)}</strong> ({meta}){end}</li>")
            parts.append("</ul>")
        else:
            parts.append('<p class="muted">No whiteboards.</p>')
        parts.append(f"<h3>Calls ({len(chat.calls)})</h3>")
        if chat.calls:
            parts.append("<table><thead><tr><th>Started</th><th>Duration</th><th>Started by</th>")
            parts.append("<th>Participants</th></tr></thead><tbody>")
            for k in chat.calls:
                people = ", ".join(who(p) for p in k.participants) or "-"
                parts.append(
                    f"<tr><td>{when(k.started_at)}</td><td>{esc(human_duration(k.started_at, k.ended_at))}</td>"
                    f"<td>{who(k.started_by)}</td><td>{people}</td></tr>"
                )
            parts.append("</tbody></table>")
        else:
            parts.append('<p class="muted">No calls.</p>')
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# -- public API ------------------------------------------------------------------------------------------------


def _render(store: Store, doc: _Document, fmt: str) -> str:
    render = whiteboard_renderer() if any(chat.boards for chat in doc.chats) else None
    return _html(doc, render, store) if fmt == "html" else _markdown(doc, render, store)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown transcript format {fmt!r}: use md or html.")
    return fmt


def render(store: Store, conversation_ids: Sequence[int], *, fmt: str = "md") -> str:
    """The transcript of these conversations (operator view: no access checks)."""
    _check_format(fmt)
    if not conversation_ids:
        raise InvalidInput("Name at least one conversation.")
    convs = [store.get_conversation(int(cid)) for cid in conversation_ids]
    return _render(store, _document(store, convs, None), fmt)


def render_ref(store: Store, ref: str | int, *, fmt: str = "md") -> str:
    """The transcript of a conversation id, or of every chat of a case number (operator view)."""
    _check_format(fmt)
    convs, case = _resolve(store, ref)
    return _render(store, _document(store, convs, case), fmt)


def for_service(service: Service, ref: str | int, *, fmt: str = "md") -> str:
    """A transcript with the user's rights: a readable conversation id, or the case chats they may read."""
    _check_format(fmt)
    store = service.store
    text = str(ref).strip()
    case: ServiceCase | None = None
    if text.isdigit():
        convs = [service.require_readable(int(text))]
    else:
        try:
            case = service.case(store.get_case_by_number(text).id)
        except NotFound as exc:
            raise NotFound(f"No service case {text!r} that you can see.") from exc
        convs = []
        for conv in store.conversations_of_case(case.id):
            try:
                convs.append(service.require_readable(conv.id))
            except NotFound:
                continue
        if not convs:
            raise NotFound(f"No conversation about {case.number} that you can open.")
    return _render(store, _document(store, convs, case), fmt)


__all__ = ["FORMATS", "for_service", "human_duration", "human_size", "render", "render_ref", "whiteboard_renderer"]

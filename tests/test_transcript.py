"""Transcripts: content (messages, files, whiteboards, calls), sanitising, the whiteboard hook, rights, CLI."""

from __future__ import annotations

import base64
import io
import sys
import types
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from PIL import Image
from sqlalchemy import insert, update
from support import World

from conferencing_widgets import InvalidInput, NewMessage, NotFound, Role, Store
from conferencing_widgets.cli import main
from conferencing_widgets.store import schema
from conferencing_widgets.transcript import render as transcript

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
XSS_LINK = "[click](javascript:alert(3))"
SAFE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "section", "h1", "h2", "h3", "p", "ol", "ul",
    "li", "span", "time", "div", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "a", "code",
    "pre", "blockquote", "figure", "img", "figcaption", "br", "hr", "del", "s",
}  # fmt: skip


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No script, no event handler, no javascript:/data: link, only known tags, images only as PNG data."""
    parser = Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in SAFE_TAGS, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":
            assert (attrs.get("href") or "").startswith(("https://", "http://", "mailto:")), attrs
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/png;base64,"), attrs
        if tag == "meta" and "content" in attrs and attrs.get("http-equiv"):
            assert "script-src" not in (attrs["content"] or "")


def naive_markdown(md: str) -> str:
    """The worst renderer a transcript might meet: raw HTML on, every link target accepted."""
    renderer = MarkdownIt("commonmark", {"html": True})
    renderer.validateLink = lambda url: True  # type: ignore[method-assign]
    return renderer.render(md)


def set_time(store: Store, table: str, row_id: int, when: datetime) -> None:
    t = schema.metadata.tables[table]
    with store.atomic() as conn:
        conn.execute(update(t).where(t.c.id == row_id).values(created_at=when))


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), "white").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def case_world(store: Store, seed) -> World:
    """The seeded world plus hostile content and a file, a whiteboard and two calls in the ACME case chat."""
    world: World = seed(store)
    chat = world.acme_case_chat
    store.add_user(login="mallory", display_name=XSS, group_id="acme", role=Role.CUSTOMER)
    store.add_members(chat, ["mallory"])
    hostile, _ = store.post_message(NewMessage(conversation_id=chat, body=f"{XSS}\n\n{XSS_LINK}"), author="mallory")
    set_time(store, "messages", hostile.id, T0)
    gone, _ = store.post_message(NewMessage(conversation_id=chat, body="secret typo"), author="alice")
    with store.atomic() as conn:
        conn.execute(update(schema.messages).where(schema.messages.c.id == gone.id).values(deleted=True, body=""))
        conn.execute(
            insert(schema.attachments).values(
                conversation_id=chat,
                uploader="alice",
                name="vibration-log.csv",
                media_type="text/csv",
                size=2048,
                sha256="a" * 64,
                created_at=T0,
            )
        )
        conn.execute(
            insert(schema.attachments).values(
                conversation_id=chat,
                uploader="mallory",
                name=f"{XSS}.pdf",
                media_type="application/pdf",
                size=5,
                sha256="b" * 64,
                created_at=T0,
            )
        )
        conn.execute(
            insert(schema.whiteboards).values(conversation_id=chat, title=XSS, created_by="tom", created_at=T0)
        )
        call = conn.execute(
            insert(schema.calls)
            .values(
                conversation_id=chat,
                provider="jitsi",
                room="room-1",
                started_by="tom",
                started_at=T0,
                ended_at=T0 + timedelta(minutes=12, seconds=30),
            )
            .returning(schema.calls.c.id)
        ).scalar_one()
        conn.execute(
            insert(schema.call_participants),
            [{"call_id": call, "login": p, "joined_at": T0} for p in ("tom", "alice")],
        )
        conn.execute(
            insert(schema.calls).values(
                conversation_id=chat, provider="jitsi", room="room-2", started_by="alice", started_at=T0
            )
        )
    return world


@pytest.fixture()
def no_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whiteboard feature's renderer absent (None in sys.modules makes the import fail)."""
    monkeypatch.setitem(sys.modules, transcript.RENDER_HOOK, None)


def test_html_transcript_is_a_sanitised_standalone_page(case_world: World, no_renderer: None) -> None:
    html = transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="html")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<style>" in html and "Content-Security-Policy" in html
    assert_inert(html)
    assert "<script" not in html.lower() and 'href="javascript' not in html.lower()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html  # the payload is shown as text
    # Content: authors with times, files with sizes, whiteboards by title, calls with durations.
    assert "Alice Moreau (alice)" in html and "2026-03-02 09:00 UTC" in html
    assert "vibration-log.csv" in html and "2.0 KB" in html
    assert "12 min 30 s" in html and "ongoing" in html and "Alice Moreau (alice), Tom Becker (tom)" in html
    assert "This message was deleted." in html and "secret typo" not in html
    assert "Whiteboards (1)" in html and "data:image/png" not in html
    assert "Service case: SR-1001 · Spindle vibration" in html


def test_markdown_transcript_is_readable_and_inert_even_in_a_naive_renderer(
    case_world: World, no_renderer: None
) -> None:
    md = transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="md")
    assert md.startswith("# Transcript: Spindle")
    assert "**Alice Moreau (alice)** · 20" in md and " · 2026-03-02 09:00 UTC" in md
    assert "| vibration-log.csv | 2.0 KB | text/csv |" in md
    assert "12 min 30 s" in md and "| ongoing |" in md
    assert "> The spindle vibrates above 6000 rpm." in md
    rendered = naive_markdown(md)
    assert_inert(rendered)
    assert "<script" not in rendered and "<img" not in rendered


def test_case_number_gives_every_chat_of_the_case(store: Store, seed, no_renderer: None) -> None:
    world: World = seed(store)
    second = world.service("adam").create_conversation(
        kind="service_case", title="Spare parts", members=[], case_id=world.acme_case.id
    )
    world.service("adam").post(second.id, "Which bearing do we need?")
    md = transcript.render_ref(store, "SR-1001", fmt="md")
    assert md.startswith("# Transcript: SR-1001 · Spindle vibration")
    assert "## Spindle" in md and "## Spare parts" in md and "Which bearing do we need?" in md
    html = transcript.render_ref(store, "SR-1001", fmt="html")
    assert html.count('<section class="chat">') == 2
    with pytest.raises(NotFound):
        transcript.render_ref(store, "SR-0404")
    with pytest.raises(InvalidInput):
        transcript.render_ref(store, " ")
    with pytest.raises(InvalidInput, match="format"):
        transcript.render_ref(store, "SR-1001", fmt="pdf")


def test_whiteboards_embed_the_renderers_png(case_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    png = png_bytes()
    calls: list[int] = []
    hook = types.ModuleType(transcript.RENDER_HOOK)

    def render_png(store: Store, whiteboard_id: int) -> bytes:
        calls.append(whiteboard_id)
        return png

    hook.render_png = render_png  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, transcript.RENDER_HOOK, hook)
    html = transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="html")
    assert_inert(html)
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    assert f'<img src="{uri}" alt="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;' in html
    md = transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="md")
    assert f"]({uri})" in md
    assert calls  # the hook was asked for the board

    def broken(store: Store, whiteboard_id: int) -> bytes:
        raise RuntimeError("renderer bug")

    hook.render_png = broken  # type: ignore[attr-defined]
    html = transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="html")
    assert "data:image/png" not in html and "Whiteboards (1)" in html  # listed by title instead

    hook.render_png = lambda store, whiteboard_id: b"GIF89a not a png"  # type: ignore[attr-defined]
    assert "data:image" not in transcript.render_ref(case_world.store, case_world.acme_case_chat, fmt="html")


def test_for_service_honours_read_rights(case_world: World, no_renderer: None) -> None:
    w = case_world
    assert "Spindle" in transcript.for_service(w.service("alice"), w.acme_case_chat)
    with pytest.raises(NotFound):
        transcript.for_service(w.service("bella"), w.acme_case_chat)
    with pytest.raises(NotFound):
        transcript.for_service(w.service("alice"), "SR-2001")  # another company's case
    with pytest.raises(NotFound, match="that you can open"):
        transcript.for_service(w.service("tom"), "SR-2001")  # staff see the case, not a chat they are not in
    engineer = transcript.for_service(w.service("erik"), "SR-2001", fmt="html")  # engineers read every case chat
    assert "Pressure drops after 20 minutes." in engineer


def test_cli_transcript(case_world: World, tmp_path: Path, no_renderer: None) -> None:
    url = case_world.store.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "case.html"
    result = CliRunner().invoke(main, ["transcript", "SR-1001", "--format", "html", "--out", str(out), "--store", url])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = CliRunner().invoke(main, ["transcript", str(case_world.acme_direct), "--store", url])
    assert result.exit_code == 0 and result.output.startswith("# Transcript: ACME team")
    result = CliRunner().invoke(main, ["transcript", "999", "--store", url])
    assert result.exit_code == 1 and result.output == "Error: No conversation 999.\n"
    result = CliRunner().invoke(main, ["transcript", "1", "--format", "pdf", "--store", url])
    assert result.exit_code == 2
    missing_dir = tmp_path / "no" / "such" / "dir" / "x.md"
    result = CliRunner().invoke(main, ["transcript", "SR-1001", "--out", str(missing_dir), "--store", url])
    assert result.exit_code == 1 and result.output.startswith("Error: ")


def test_human_sizes_and_durations() -> None:
    assert transcript.human_size(532) == "532 bytes"
    assert transcript.human_size(2048) == "2.0 KB"
    assert transcript.human_size(3 * 1024**3) == "3.0 GB"
    assert transcript.human_duration(T0, T0 + timedelta(seconds=45)) == "45 s"
    assert transcript.human_duration(T0, T0 + timedelta(hours=1, minutes=3)) == "1 h 3 min"
    assert transcript.human_duration(T0, None) == "ongoing"


def test_transcripts_show_mentions(store: Store, seed, no_renderer: None) -> None:
    world: World = seed(store)
    world.service("alice").post(world.acme_case_chat, "@tom please check <b>this</b>")
    page = transcript.render(store, [world.acme_case_chat], fmt="html")
    assert '<span class="cw-mention">@Tom Becker</span> please check &lt;b&gt;' in page
    text = transcript.render(store, [world.acme_case_chat], fmt="md")
    assert "· mentions Tom Becker (tom)" in text

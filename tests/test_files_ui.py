"""The file feature's widgets without a browser: the upload protocol, the viewer, file rows and area 3's lists.

The upload widget is driven with the same messages its JavaScript sends (``receive``); what Python sends back
to the browser is captured from the widgets' ``send``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from support import World, seed_world, snapshot

from conferencing_widgets import MessageKind, Service, Settings, Store
from conferencing_widgets.files.service import FileService
from conferencing_widgets.store import schema
from conferencing_widgets.store.store import utcnow
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.files import html as files_ui
from conferencing_widgets.ui.files.upload import UploadWidget
from conferencing_widgets.ui.files.viewer import FileViewerWidget


@pytest.fixture()
def world(tmp_path: Path) -> World:
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    w = seed_world(store)
    w.settings = Settings(data_dir=tmp_path, max_upload_bytes=6_000_000)
    yield w
    store.close()


class Wire:
    """Captures what a widget sends to the browser."""

    def __init__(self, widget: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = lambda content, buffers=None: self.sent.append((content, [bytes(b) for b in buffers or []]))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c, _ in self.sent if c.get("type") == kind]

    def payload(self, req: int) -> bytes:
        return b"".join(b"".join(bufs) for c, bufs in self.sent if c.get("type") == "bytes" and c["req"] == req)


def app_for(world: World, login: str, conversation: int | None = None) -> ConferencingApp:
    app = ConferencingApp(Service(world.store, login, world.settings), live=False)
    if conversation is not None:
        app.open_conversation(conversation)
    return app


def browser_upload(widget: UploadWidget, name: str, data: bytes, chunk: int = 65536, uid: str = "u1") -> Wire:
    """What upload.js does: begin, chunks with offsets (as memoryviews, like ipykernel delivers them), end."""
    wire = Wire(widget)
    widget.receive({"type": "begin", "uid": uid, "name": name, "size": len(data), "mime": "text/plain"})
    if wire.of("refused"):
        return wire
    for start in range(0, len(data), chunk):
        widget.receive({"type": "chunk", "uid": uid, "offset": start}, [memoryview(data[start : start + chunk])])
    widget.receive({"type": "end", "uid": uid})
    return wire


def png(size: tuple[int, int] = (120, 80)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_the_feature_plugs_into_the_app(world: World) -> None:
    app = app_for(world, "alice", world.acme_case_chat)
    upload = app.messages.upload_entry
    assert isinstance(upload, UploadWidget) and "cw-upload" in upload._dom_classes
    assert upload in app.messages.plus_menu.children
    assert upload.max_bytes == 6_000_000 and upload.max_label == "5.7 MB"
    assert any(isinstance(c, FileViewerWidget) for c in app.messages.extras.children)
    assert "No files yet" in app.details.sections["files"].value


def test_upload_reaches_the_stream_and_both_pages_files_lists(world: World) -> None:
    chat = world.acme_case_chat
    alice, adam = app_for(world, "alice", chat), app_for(world, "adam", chat)
    data = os.urandom(300_000)
    wire = browser_upload(alice.messages.upload_entry, "vibration.bin", data)
    acks = wire.of("ack")
    assert wire.of("ready") and [a["received"] for a in acks][-1] == len(data) and len(acks) == 5
    (done,) = wire.of("done")
    att = FileService(alice.service).attachment(done["attachment"])
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    # The uploader's page shows it at once; the other page after the feed delivers it.
    row = alice.messages.stream.window[-1]
    assert row["kind"] == "file" and f'data-cw-file="{att.id}"' in row["html"] and "vibration.bin" in row["html"]
    assert "vibration.bin" in alice.details.sections["files"].value
    assert "vibration.bin" not in adam.details.sections["files"].value
    adam.refresh()
    assert "vibration.bin" in adam.details.sections["files"].value
    assert adam.messages.stream.window[-1]["kind"] == "file"
    # Newest first in the list.
    browser_upload(alice.messages.upload_entry, "later.txt", b"later\n", uid="u2")
    adam.refresh()
    files_html = adam.details.sections["files"].value
    assert files_html.index("later.txt") < files_html.index("vibration.bin")


def test_over_limit_and_non_members_are_refused_before_sending(world: World) -> None:
    alice = app_for(world, "alice", world.acme_case_chat)
    erik = app_for(world, "erik", world.acme_case_chat)  # reads case chats, is not a member
    nobody = app_for(world, "alice")  # no conversation open
    before = snapshot(world.store)
    wire = browser_upload(alice.messages.upload_entry, "huge.bin", b"x" * 6_000_001)
    (refused,) = wire.of("refused")
    assert "larger than the limit of 5.7 MB" in refused["message"] and not wire.of("ack")
    wire = browser_upload(erik.messages.upload_entry, "x.txt", b"hello\n")
    assert "Only members" in wire.of("refused")[0]["message"]
    assert wire_refusal(nobody) == "Open a conversation first."
    assert snapshot(world.store) == before


def wire_refusal(app: ConferencingApp) -> str:
    wire = browser_upload(app.messages.upload_entry, "x.txt", b"hello\n")
    return str(wire.of("refused")[0]["message"])


def test_files_kept_offline_know_the_user_and_get_tokens_only_where_the_user_may_post(world: World) -> None:
    world.settings = Settings(data_dir=world.settings.data_dir, max_upload_bytes=6_000_000, secret="s" * 32)
    app = app_for(world, "alice", world.acme_case_chat)
    widget = app.messages.upload_entry
    # The browser's offline key is the composer's (a hash of the login); the open conversation follows the app.
    assert widget.outbox_scope == app.messages.composer.outbox_scope and "alice" not in widget.outbox_scope
    assert widget.outbox_scope != app_for(world, "bella").messages.upload_entry.outbox_scope
    assert widget.conversation_id == world.acme_case_chat
    app.open_conversation(world.acme_direct)
    assert widget.conversation_id == world.acme_direct
    # A file chosen offline asks for a token for ITS conversation, whichever is open now.
    before = snapshot(world.store)
    wire = Wire(widget)
    ask = {"type": "token", "name": "log.txt", "size": 6}
    widget.receive({**ask, "uid": "k1", "conversation": world.acme_case_chat})
    (granted,) = wire.of("token")
    assert granted["uid"] == "k1" and granted["conversation"] == world.acme_case_chat and granted["token"]
    widget.receive({**ask, "uid": "k2", "conversation": world.borg_case_chat})  # alice is no member there
    widget.receive({**ask, "uid": "k3", "conversation": world.acme_case_chat, "size": 6_000_001})
    widget.receive({**ask, "uid": "k4", "conversation": None})
    refused = {r["uid"]: r["message"] for r in wire.of("refused")}
    assert set(refused) == {"k2", "k3", "k4"} and len(wire.of("token")) == 1
    assert "larger than the limit of 5.7 MB" in refused["k3"] and "no conversation" in refused["k4"]
    # Over the websocket too (no endpoint): the named conversation is checked, not the open one.
    widget.receive({"type": "begin", "uid": "k5", "name": "x.txt", "size": 6, "conversation": world.borg_case_chat})
    assert [r["uid"] for r in wire.of("refused")][-1] == "k5" and not wire.of("ready")
    assert snapshot(world.store) == before


def test_a_file_kept_offline_sent_twice_is_stored_once(world: World) -> None:
    # The same uid (the entry came back from IndexedDB after a reload) means the same client id: one file.
    app = app_for(world, "alice", world.acme_direct)
    widget = app.messages.upload_entry
    data = b"sent from the basement\n"
    for _ in range(2):
        wire = Wire(widget)
        widget.receive(
            {"type": "begin", "uid": "kept1", "name": "b.txt", "size": len(data), "conversation": world.acme_case_chat}
        )
        widget.receive({"type": "chunk", "uid": "kept1", "offset": 0}, [data])
        widget.receive({"type": "end", "uid": "kept1"})
        (done,) = wire.of("done")
    files = [a for a in FileService(app.service).attachments(world.acme_case_chat) if a.name == "b.txt"]
    assert [a.id for a in files] == [done["attachment"]]


def test_broken_or_cancelled_upload_leaves_nothing(world: World) -> None:
    widget = app_for(world, "alice", world.acme_case_chat).messages.upload_entry
    before = snapshot(world.store)
    wire = Wire(widget)
    widget.receive({"type": "begin", "uid": "a", "name": "a.bin", "size": 100})
    widget.receive({"type": "chunk", "uid": "a", "offset": 0}, [b"\x00" * 40])
    widget.receive({"type": "chunk", "uid": "a", "offset": 50}, [b"\x00" * 40])  # a lost chunk
    assert "lost a piece" in wire.of("failed")[0]["message"]
    widget.receive({"type": "end", "uid": "a"})
    assert "no longer running" in wire.of("failed")[1]["message"]
    widget.receive({"type": "begin", "uid": "b", "name": "b.bin", "size": 100})
    widget.receive({"type": "chunk", "uid": "b", "offset": 0}, [b"\x00" * 40])
    widget.receive({"type": "cancel", "uid": "b"})
    widget.receive({"type": "begin", "uid": "c", "name": "c.bin", "size": 100})
    widget.close()  # the page went away mid-upload
    assert snapshot(world.store) == before
    assert list((world.settings.data_dir / "blobs" / "spool").glob("*")) == []


def test_viewer_previews_images_text_and_downloads_the_rest(world: World) -> None:
    chat = world.acme_case_chat
    alice = app_for(world, "alice", chat)
    files = FileService(alice.service)
    image = png()
    img = files.upload_bytes(chat, "photo.png", image)
    txt = files.upload_bytes(chat, "machine.log", b"0123456789\n" * 10_000)
    html = files.upload_bytes(chat, "report.png", b"<html><script>alert(1)</script></html>")
    data = os.urandom(5_000_000)
    binary = files.upload_bytes(chat, "../../dump.bin", data)
    viewer = alice.files.viewer
    wire = Wire(viewer)

    viewer.open_file(img.id)
    show = wire.of("show")[-1]
    assert (show["kind"], show["media_type"], show["streaming"]) == ("image", "image/png", True)
    assert wire.payload(show["req"]) == image

    viewer.open_file(txt.id)
    show = wire.of("show")[-1]
    assert show["kind"] == "text" and show["truncated"] and show["text"].startswith("0123456789\n")
    assert wire.payload(show["req"]) == b""  # only the first part, as text

    for att in (html, binary):  # active content and unknown types: a download, never rendered
        viewer.open_file(att.id)
        show, save = wire.of("show")[-1], wire.of("save")[-1]
        assert show["kind"] == "download" and not show["streaming"]
        assert hashlib.sha256(wire.payload(save["req"])).hexdigest() == att.sha256
    assert save["download_name"] == "_.._dump.bin"
    assert [c["last"] for c in wire.of("bytes") if c["req"] == save["req"]] == [False, False, True]

    viewer.download_file(img.id)
    assert wire.payload(wire.of("save")[-1]["req"]) == image

    # Another company's user who guesses the id gets an error and no bytes.
    bella = app_for(world, "bella", world.borg_case_chat)
    bella_wire = Wire(bella.files.viewer)
    bella.files.viewer._on_custom(None, {"type": "open", "id": img.id}, [])
    assert bella_wire.of("error")[0]["message"].startswith("No file") and not bella_wire.of("bytes")


def test_thumbnails_gallery_and_calls(world: World) -> None:
    chat = world.acme_case_chat
    alice = app_for(world, "alice", chat)
    files = FileService(alice.service)
    img = files.upload_bytes(chat, "photo.png", png((640, 480)))
    files.upload_bytes(chat, "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    with world.store.atomic() as conn:
        conn.execute(
            insert(schema.calls).values(
                conversation_id=chat, provider="jitsi", room="r-1", started_by="tom", started_at=utcnow()
            )
        )
        world.store.append_event(conn, "call", conversation_id=chat, ref_id=1)
    alice.refresh()
    media = alice.details.sections["media"].value
    assert f'data-cw-file="{img.id}"' in media and "data:image/jpeg;base64," in media
    assert "logo.svg" not in media  # SVG is active content: listed in Files, never shown as media
    assert 'class="cw-media-call"' in media  # rendered by the video feature when it is installed
    # Without the calls feature's list, the calls table is listed read-only.
    fallback = files_ui.media_section_html(alice.session.files, alice.conversation)
    assert "Call by Tom Becker" in fallback and "ongoing" in fallback
    files_html = alice.details.sections["files"].value
    assert files_html.count("data:image/") == 1 and "logo.svg" in files_html
    row = next(r for r in alice.messages.stream.window if f'data-cw-file="{img.id}"' in r["html"])
    assert 'class="cw-file-thumb"' in row["html"]


HOSTILE = [
    '<img src=x onerror="alert(1)">.png',
    "../../etc/passwd",
    "\u202egnp.exe",
    "x" * 400 + ".txt",
    "\x00\x01\x1b",
]


def test_hostile_names_are_inert_everywhere(world: World) -> None:
    chat = world.acme_case_chat
    alice = app_for(world, "alice", chat)
    for i, name in enumerate(HOSTILE):
        browser_upload(alice.messages.upload_entry, name, f"content {i}\n".encode(), uid=f"h{i}")
    html = alice.details.sections["files"].value + "".join(r["html"] for r in alice.messages.stream.window)
    assert "<img src=x" not in html and "onerror=&quot;alert(1)&quot;" in html
    assert "\u202e" not in html and "\x1b" not in html and "unnamed file" in html
    assert not re.search(r">x{100}", html)  # shown names are shortened (the tooltip holds more)
    assert "../../etc/passwd" in html


def test_forged_file_message_reveals_nothing(world: World) -> None:
    borg_file = FileService(world.service("bella")).upload_bytes(world.borg_case_chat, "secret.txt", b"borg\n")
    # Alice posts a file-kind message in her own chat pointing at Borg's attachment id.
    Service(world.store, "alice").post(world.acme_case_chat, "look", kind=MessageKind.FILE, ref_id=borg_file.id)
    alice = app_for(world, "alice", world.acme_case_chat)
    row = alice.messages.stream.window[-1]
    assert "not available" in row["html"] and "secret.txt" not in row["html"] and "data-cw-file" not in row["html"]


def test_the_file_views_talk_only_to_services_session_and_core() -> None:
    import ast

    import conferencing_widgets.ui.files as package

    for path in Path(package.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        for name in imported:
            assert not (name.endswith(".store") or ".store." in name or name.startswith("sqlalchemy")), (path, name)

"""File sharing: blob store, attachment store and file service, on SQLite and PostgreSQL (``store``) and on a
local folder and fsspec's memory filesystem (``blobs``)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from support import World, raises_storage_error, snapshot

from conferencing_widgets import (
    InvalidInput,
    LimitExceeded,
    MessageKind,
    NotFound,
    PermissionDenied,
    Settings,
    Store,
)
from conferencing_widgets.calls.store import calls_of
from conferencing_widgets.files import store as att_store
from conferencing_widgets.files.service import (
    FileService,
    blob_store_for,
    clean_file_name,
    detect_media_type,
    download_name,
    make_thumbnail,
    preview_kind,
    read_attachment_bytes,
)
from conferencing_widgets.store import schema
from conferencing_widgets.store.blobs import BlobStore, StagedBlob


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


BLOB_KINDS = ["local", "memory"]
# Every backend and every blob store, without the full cross product (PostgreSQL setup is the slow part).
MATRIX = [
    pytest.param("sqlite", "local", id="sqlite-local"),
    pytest.param("sqlite", "memory", id="sqlite-memory"),
    pytest.param("postgresql", "memory", id="postgresql-memory", marks=pytest.mark.postgres),
]


on_every_store = pytest.mark.parametrize(("backend", "blob_kind"), MATRIX, indirect=["backend"])
on_every_blob_store = pytest.mark.parametrize("blob_kind", BLOB_KINDS)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and header claiming ``width`` x ``height`` pixels, with one empty data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture()
def blobs(blob_kind: str, tmp_path: Path) -> Iterator[BlobStore]:
    """A blob store in a local folder, or in fsspec's (process-wide) memory filesystem under a unique root."""
    if blob_kind == "local":
        yield BlobStore(tmp_path / "blobs")
        return
    root = f"memory://cw-test-{uuid.uuid4().hex}"
    blob_store = BlobStore(root, spool_dir=tmp_path / "spool")
    yield blob_store
    if blob_store.fs.exists(blob_store.root):
        blob_store.fs.rm(blob_store.root, recursive=True)


def files_for(world: World, login: str, blobs: BlobStore, **settings: object) -> FileService:
    """The file service of ``login`` on ``blobs`` (also what ``blob_store_for`` picks for its settings)."""
    return FileService(world.service(login, blob_url=blobs.location, **settings), blobs=blobs)


def spool_files(blobs: BlobStore) -> list[Path]:
    return sorted(blobs.spool_dir.glob("*")) if blobs.spool_dir.exists() else []


def assert_nothing_left(world: World, before: dict[str, int], blobs: BlobStore, stored: list[str]) -> None:
    assert snapshot(world.store) == before
    assert blobs.stored_hashes() == stored
    assert blobs.temporary_keys() == []
    assert spool_files(blobs) == []


# -- blob store ----------------------------------------------------------------------------------------


@on_every_blob_store
def test_blob_store_is_content_addressed(blobs: BlobStore) -> None:
    data = os.urandom(300_000)
    sha = blobs.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert blobs.put_bytes(data) == sha  # the same content is stored once
    assert blobs.stored_hashes() == [sha]
    assert blobs.key(sha).endswith(f"/{sha[:2]}/{sha[2:4]}/{sha}")
    assert blobs.read(sha) == data
    assert blobs.read(sha, start=1000, length=10) == data[1000:1010]
    assert b"".join(blobs.iter_chunks(sha, 65536)) == data
    assert blobs.size(sha) == len(data)
    for bad in ("../../etc/passwd", "A" * 64, sha[:-1], ""):
        with pytest.raises(InvalidInput):
            blobs.key(bad)
    blobs.delete(sha)
    assert not blobs.exists(sha)
    with pytest.raises(NotFound):
        blobs.read(sha)


@on_every_blob_store
def test_staged_blob_is_invisible_until_finalised_and_discard_removes_it(blobs: BlobStore, tmp_path: Path) -> None:
    data = b"staged content"
    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / "upload.part"
    src.write_bytes(data)
    staged = blobs.stage(src, sha)
    assert staged.tmp_key is not None and sha not in staged.tmp_key
    assert not blobs.exists(sha) and blobs.temporary_keys() == [staged.tmp_key]
    blobs.discard(staged)
    assert blobs.temporary_keys() == [] and blobs.stored_hashes() == []

    src.write_bytes(data)
    assert blobs.finalise(blobs.stage(src, sha)) is True
    src.write_bytes(data)
    again = blobs.stage(src, sha)  # already stored: finalise drops the copy
    assert blobs.finalise(again) is False
    assert blobs.stored_hashes() == [sha] and blobs.temporary_keys() == []


def test_settings_pick_the_blob_store(tmp_path: Path) -> None:
    local = blob_store_for(Settings(data_dir=tmp_path))
    assert local.is_local and local.root == str((tmp_path / "blobs").resolve())
    remote = blob_store_for(Settings(blob_url=f"memory://cw-settings-{uuid.uuid4().hex}"))
    assert not remote.is_local and remote.root.startswith("/cw-settings-")
    assert blob_store_for(Settings(data_dir=tmp_path)) is local  # one per location and process


# -- names and types -------------------------------------------------------------------------------------


def test_hostile_names_are_cleaned_for_display_and_download() -> None:
    assert clean_file_name("../../etc/passwd") == "../../etc/passwd"  # kept as text; never a path
    assert download_name("../../etc/passwd") == "_.._etc_passwd"
    assert clean_file_name("\u202egnp.exe") == "gnp.exe"  # RTL override gone
    assert clean_file_name("a\x00b\x1b[31mc\r\nd") == "ab[31mc d"
    assert clean_file_name("") == clean_file_name("\x00\x01") == clean_file_name(" . ") == "unnamed file"
    long = clean_file_name("x" * 5000 + ".pdf")
    assert len(long) <= 200 and long.endswith(".pdf")
    assert download_name('<img onerror="x">.png') == "_img onerror=_x__.png"


@pytest.mark.parametrize(
    ("content", "name", "expected", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "notes.txt", "image/png", "image"),  # content wins over name
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "scan.bin", "application/pdf", "pdf"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "cat.png", "text/html", "download"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png", "image/svg+xml", "download"),
        (b"  \n<?xml version='1.0'?><svg/>", "a.txt", "image/svg+xml", "download"),
        (b"spindle,rpm\n1,6000\n2,6100\n", "data", "text/csv", "text"),
        (b"2026-01-01 12:00 WARN vibration\n", "machine.log", "text/plain", "text"),
        ("Zażółć gęślą jaźń\n".encode(), "pl.txt", "text/plain", "text"),
        (b"\x00\x01\x02\x03binary\xff\xfe", "x.png", "application/octet-stream", "download"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20, "clip", "video/mp4", "video"),
        # Random bytes that happen to start with "{" (1 in 256) are not JSON: JSON is text.
        (b"{\x9c\x00\xf3\x01\xfe" + bytes(range(256)), "vibration.bin", "application/octet-stream", "download"),
        (b'{"spindle": 6000}\n', "reading.json", "text/plain", "text"),
    ],
)
def test_type_comes_from_content(content: bytes, name: str, expected: str, kind: str) -> None:
    assert detect_media_type(content, name) == expected
    assert preview_kind(expected) == kind


def test_thumbnails_are_reencoded_and_bombs_refused() -> None:
    made = make_thumbnail(png_bytes((400, 300)), 64)
    assert made is not None and made[0] == "image/jpeg"
    from PIL import Image

    with Image.open(io.BytesIO(made[1])) as img:
        assert max(img.size) == 64
    assert make_thumbnail(b'<svg xmlns="http://www.w3.org/2000/svg"/>') is None
    assert make_thumbnail(b"\x89PNG\r\n\x1a\nbroken") is None
    # A tiny PNG that announces 20000 x 20000 pixels: refused from its header, never decoded.
    assert make_thumbnail(png_header_only(20000, 20000)) is None
    assert make_thumbnail(png_header_only(9000, 9000)) is None  # 81 M pixels: over MAX_THUMB_PIXELS too


# -- uploads through the service ---------------------------------------------------------------------------


@on_every_store
def test_upload_posts_a_file_message_and_lists_newest_first(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    chat = seeded.acme_case_chat
    after = seeded.store.last_event_id()
    data1, data2 = os.urandom(70_000), b"second file\n" * 10
    first = files.upload_bytes(chat, "vibration.bin", data1, chunk_size=16_384)
    second = files.upload_bytes(chat, "notes.txt", data2)
    assert (first.name, first.size, first.uploader, first.media_type) == (
        "vibration.bin",
        70_000,
        "alice",
        "application/octet-stream",
    )
    assert second.media_type == "text/plain"
    assert [a.id for a in files.attachments(chat)] == [second.id, first.id]
    message = seeded.store.latest_messages(chat, limit=1)[0]
    assert (message.kind, message.ref_id, message.author) == (MessageKind.FILE, second.id, "alice")
    assert "notes.txt" in message.body and "120 bytes" in message.body
    events = [(e.kind, e.ref_id) for e in seeded.store.changes(after=after)]
    assert ("attachment", first.id) in events and ("attachment", second.id) in events
    # Every member and an engineer (case chat) may read; the bytes are exact.
    for login in ("adam", "tom", "erik"):
        att, data = read_attachment_bytes(files_for(seeded, login, blobs).service, first.id)
        assert hashlib.sha256(data).hexdigest() == att.sha256 == hashlib.sha256(data1).hexdigest()
    # No stored key carries the user's file name.
    assert all("vibration" not in k and "notes" not in k for k in blobs.fs.find(blobs.root))
    assert spool_files(blobs) == [] and blobs.temporary_keys() == []


@on_every_store
def test_same_content_is_stored_once(seeded: World, blobs: BlobStore) -> None:
    data = os.urandom(5000)
    a = files_for(seeded, "alice", blobs).upload_bytes(seeded.acme_case_chat, "a.bin", data)
    b = files_for(seeded, "tina", blobs).upload_bytes(seeded.borg_case_chat, "b.bin", data)
    assert a.sha256 == b.sha256 and a.id != b.id
    assert blobs.stored_hashes() == [a.sha256]
    assert att_store.delete_blob_if_unreferenced(seeded.store, blobs, a.sha256) is False  # still referenced


@on_every_store
def test_who_may_upload_and_open(seeded: World, blobs: BlobStore) -> None:
    chat = seeded.acme_case_chat
    att = files_for(seeded, "alice", blobs).upload_bytes(chat, "log.txt", b"spindle log\n")
    # Bella (another company) guesses ids: refused as if they did not exist.
    bella = files_for(seeded, "bella", blobs)
    with pytest.raises(NotFound):
        bella.begin_upload(chat, "x.txt", 3)
    for call in (bella.attachment, bella.preview, lambda i: read_attachment_bytes(bella.service, i)):
        with pytest.raises(NotFound, match="No file"):
            call(att.id)
    with pytest.raises(NotFound):
        bella.attachments(chat)
    with pytest.raises(NotFound):
        bella.attachment(999_999)
    # Erik (engineer, not a member) opens files of case chats but does not upload into them.
    erik = files_for(seeded, "erik", blobs)
    assert erik.preview(att.id).text == "spindle log\n"
    with pytest.raises(PermissionDenied, match="Only members"):
        erik.begin_upload(chat, "x.txt", 3)
    # ... and direct chats stay private to their members, engineers included.
    direct = files_for(seeded, "alice", blobs).upload_bytes(seeded.acme_direct, "d.txt", b"private\n")
    stored, before = blobs.stored_hashes(), snapshot(seeded.store)
    with pytest.raises(NotFound):
        erik.attachment(direct.id)
    with pytest.raises(NotFound):
        files_for(seeded, "tom", blobs).preview(direct.id)
    assert_nothing_left(seeded, before, blobs, stored)


@on_every_store
def test_attachment_in_checks_the_conversation_every_time(seeded: World, blobs: BlobStore) -> None:
    chat, direct = seeded.acme_case_chat, seeded.acme_direct
    alice = files_for(seeded, "alice", blobs)
    att = alice.upload_bytes(chat, "log.txt", b"spindle log\n")
    message = next(m for m in seeded.store.latest_messages(chat, limit=5) if m.ref_id == att.id)
    assert alice.attachment_in(chat, att.id) == att == alice.attachment_of_message(message)
    # A reference from another conversation, a dangling one and none at all reveal nothing.
    for conversation_id, ref in ((direct, att.id), (chat, 999_999), (chat, None), (chat, "x")):
        with pytest.raises(NotFound):
            alice.attachment_in(conversation_id, ref)
    # A cached record is no licence: the conversation's rights are checked on every call.
    bella = files_for(seeded, "bella", blobs)
    with pytest.raises(NotFound):
        bella.attachment_in(chat, att.id)
    erik = files_for(seeded, "erik", blobs)  # engineers read case chats
    assert erik.attachment_of_message(message) == att
    with seeded.store.atomic() as conn:
        conn.execute(update(schema.users).where(schema.users.c.login == "erik").values(disabled=True))
    with pytest.raises(PermissionDenied):
        erik.attachment_of_message(message)


@on_every_store
def test_limits_refuse_before_anything_is_written(seeded: World, blobs: BlobStore) -> None:
    chat = seeded.acme_case_chat
    files = files_for(seeded, "alice", blobs, max_upload_bytes=1000, allowed_types="image/*, application/pdf")
    before = snapshot(seeded.store)
    with pytest.raises(LimitExceeded, match="larger than the limit of 1000 bytes"):
        files.begin_upload(chat, "big.bin", 1001)
    with pytest.raises(InvalidInput, match="empty"):
        files.begin_upload(chat, "empty.txt", 0)
    for size in (-1, "lots", None, True):
        with pytest.raises(InvalidInput):
            files.begin_upload(chat, "x", size)  # type: ignore[arg-type]
    # The allow-list is checked on the content as soon as the first chunk is in.
    session = files.begin_upload(chat, "photo.png", 600)
    with pytest.raises(InvalidInput, match="text/plain, which this server does not accept"):
        session.write(b"not a png" * 66 + b"!!!!!!", 0)
    assert session.state == "failed"
    with pytest.raises(InvalidInput):
        session.finish()
    assert files.upload_bytes(chat, "ok.png", png_bytes()).media_type == "image/png"
    before = snapshot(seeded.store)
    stored = blobs.stored_hashes()
    # More bytes than announced, a gap, and an early end are refused and clean up.
    session = files.begin_upload(chat, "a.pdf", 10)
    with pytest.raises(LimitExceeded, match="more bytes than announced"):
        session.write(b"%PDF-1.4\n" + b"x" * 10, 0)
    session = files.begin_upload(chat, "a.pdf", 20)
    session.write(b"%PDF-1.4\n", 0)
    with pytest.raises(InvalidInput, match="lost a piece"):
        session.write(b"x", 5)
    session = files.begin_upload(chat, "a.pdf", 20)
    session.write(b"%PDF-1.4\n", 0)
    with pytest.raises(InvalidInput, match="incomplete"):
        session.finish()
    assert_nothing_left(seeded, before, blobs, stored)


@on_every_store
def test_cancelled_upload_leaves_nothing(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    before = snapshot(seeded.store)
    session = files.begin_upload(seeded.acme_case_chat, "half.bin", 100_000)
    session.write(os.urandom(50_000), 0)
    assert spool_files(blobs) != []
    session.cancel()
    assert session.state == "cancelled"
    with pytest.raises(InvalidInput, match="cancelled"):
        session.write(b"more", 50_000)
    assert_nothing_left(seeded, before, blobs, [])


@on_every_store
def test_text_that_turns_binary_is_not_text(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    data = b"a plain start\n" * 6000 + b"\xff\xfe\x00binary tail"
    att = files.upload_bytes(seeded.acme_case_chat, "mixed.txt", data, chunk_size=32_768)
    assert att.media_type == "application/octet-stream"
    big_text = ("line with ünïcödé\n" * 5000).encode()
    att = files.upload_bytes(seeded.acme_case_chat, "big.log", big_text, chunk_size=4097)  # splits characters
    preview = files.preview(att.id)
    assert att.media_type == "text/plain" and preview.kind == "text" and preview.truncated
    assert preview.text.startswith("line with ünïcödé") and len(preview.text.encode()) <= 64 * 1024


@on_every_store
def test_hostile_names_never_reach_the_file_system(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    names = ["../../etc/passwd", "<img src=x onerror=alert(1)>.png", "\u202etxt.exe", "a" * 3000, "", "\x07\x1b"]
    for i, name in enumerate(names):
        files.upload_bytes(seeded.acme_case_chat, name, f"content {i}\n".encode())
    stored_names = [a.name for a in files.attachments(seeded.acme_case_chat)][::-1]
    assert stored_names[0] == "../../etc/passwd" and stored_names[2] == "txt.exe"
    assert len(stored_names[3]) <= 200 and stored_names[4] == stored_names[5] == "unnamed file"
    keys = blobs.fs.find(blobs.root)
    assert len(keys) == len(names) and all(k.rsplit("/", 1)[-1] in blobs.stored_hashes() for k in keys)


@on_every_store
def test_same_client_id_uploads_once(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    a = files.upload_bytes(seeded.acme_case_chat, "r.bin", b"retry\x00", client_id="upload-1")
    before = snapshot(seeded.store)
    b = files.upload_bytes(seeded.acme_case_chat, "r.bin", b"retry\x00", client_id="upload-1")
    assert a == b and snapshot(seeded.store) == before
    assert blobs.temporary_keys() == [] and blobs.stored_hashes() == [a.sha256]


@on_every_store
def test_failed_commit_removes_what_was_written(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    chat = seeded.acme_case_chat
    kept = files.upload_bytes(chat, "kept.bin", b"kept content\x00")
    # A text message already used this client id: the file message cannot be stored, so nothing is.
    seeded.service("alice").post(chat, "hello", client_id="clash")
    before, stored = snapshot(seeded.store), blobs.stored_hashes()
    for content in (b"brand new content\x00", b"kept content\x00"):
        with pytest.raises(InvalidInput, match="client id"):
            files.upload_bytes(chat, "x.bin", content, client_id="clash")
        assert_nothing_left(seeded, before, blobs, stored)
    assert files.read(kept.id)[1] == b"kept content\x00"  # the referenced blob stays


class CommitFailsAfterFinalise(BlobStore):
    """Fault injection: the blob reaches its final place, then the transaction fails (as a lost connection would)."""

    def finalise(self, staged: StagedBlob) -> bool:
        created = super().finalise(staged)
        raise ConnectionError(f"connection lost (blob created: {created})")


def test_commit_failure_after_finalise_leaves_no_orphan_and_keeps_shared_blobs(seeded: World, tmp_path: Path) -> None:
    good = BlobStore(tmp_path / "blobs")
    flaky = CommitFailsAfterFinalise(tmp_path / "blobs")
    chat = seeded.acme_case_chat
    kept = files_for(seeded, "alice", good).upload_bytes(chat, "kept.bin", b"shared\x00")
    before, stored = snapshot(seeded.store), good.stored_hashes()
    for content in (b"fresh\x00", b"shared\x00"):
        with raises_storage_error("", says="Nothing was shared"):
            files_for(seeded, "alice", flaky).upload_bytes(chat, "x.bin", content)
        assert_nothing_left(seeded, before, good, stored)
    assert files_for(seeded, "adam", good).read(kept.id)[1] == b"shared\x00"


def test_blob_store_write_error_is_a_clear_storage_error(seeded: World, tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the blob store should be")
    broken = BlobStore(tmp_path / "not-a-folder" / "blobs", spool_dir=tmp_path / "spool")
    before = snapshot(seeded.store)
    with raises_storage_error("file store failed.*CONFERENCING_BLOB_URL"):
        files_for(seeded, "alice", broken).upload_bytes(seeded.acme_case_chat, "a.txt", b"abc\n")
    assert snapshot(seeded.store) == before and list((tmp_path / "spool").glob("*")) == []


@on_every_store
def test_thumbnails_and_media(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    chat = seeded.acme_case_chat
    img = files.upload_bytes(chat, "photo.png", png_bytes((300, 200)))
    svg = files.upload_bytes(chat, "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    files.upload_bytes(chat, "clip.mp4", b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    thumb = files.thumbnail(img)
    assert thumb is not None and thumb[0] == "image/jpeg"
    assert blobs.read_thumb(img.sha256, 160) == thumb[1]  # cached next to the content
    assert files.thumbnail(svg) is None and preview_kind(svg.media_type) == "download"
    media = files.media(chat)
    assert [a.media_type for a in media.items] == ["video/mp4", "image/png"] and media.total == 2
    with pytest.raises(NotFound):
        files_for(seeded, "bella", blobs).thumbnail(img)
    # Deleting content also removes its thumbnails (only when nothing references it).
    assert att_store.delete_blob_if_unreferenced(seeded.store, blobs, img.sha256) is False


@on_every_store
def test_sweep_removes_only_unreferenced_blobs(seeded: World, blobs: BlobStore) -> None:
    files = files_for(seeded, "alice", blobs)
    att = files.upload_bytes(seeded.acme_case_chat, "a.bin", b"referenced\x00")
    orphan = blobs.put_bytes(b"left by a crash between rename and commit")
    assert att_store.sweep_unreferenced(seeded.store, blobs) == [orphan]
    assert blobs.stored_hashes() == [att.sha256]


def test_store_functions_page_and_filter(store: Store, seed: object) -> None:
    world = seed(store)  # type: ignore[operator]
    chat = world.acme_case_chat
    ids = []
    for i in range(5):
        att, message, created = att_store.add_attachment(
            store,
            conversation_id=chat,
            uploader="alice",
            name=f"f{i}",
            media_type="image/png" if i % 2 else "text/plain",
            size=i + 1,
            sha256=hashlib.sha256(bytes([i])).hexdigest(),
            body=f"Shared a file: f{i}",
        )
        assert created and message.ref_id == att.id
        ids.append(att.id)
    assert [a.id for a in att_store.attachments_of(store, chat, limit=2)] == ids[:-3:-1]
    assert [a.id for a in att_store.attachments_of(store, chat, before_id=ids[2])] == [ids[1], ids[0]]
    assert att_store.count_attachments(store, chat, media_prefixes=("image/",)) == 2
    assert att_store.count_attachments(store, world.acme_direct) == 0
    assert set(att_store.get_attachments(store, [ids[0], ids[1], 999])) == {ids[0], ids[1]}
    with pytest.raises(NotFound):
        att_store.get_attachment(store, 999)
    assert calls_of(store, chat) == []

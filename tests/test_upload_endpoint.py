"""The resumable upload endpoint (``voila/upload_handler.py`` over ``files/resumable.py``), over real HTTP.

The handlers are served from a tornado application on a thread, exactly as Voilà mounts them; requests go
through ``requests``. Happy paths (create, resume at the offset, completion, declared SHA-256, the record of a
finished upload) and the security catalogue: no token, another conversation's or user's token, expired and
tampered tokens, offsets beyond the size or overlapping, a declared size over the limit, bytes beyond the
declared size, refused types, hostile file names. Each refusal has a clear status and leaves nothing behind:
no partial file, no blob, no row (``snapshot`` before and after).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support import World, load_xss_payloads, seed_world, snapshot

from conferencing_widgets import Settings, Store
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import InvalidLink, PermissionDenied, StorageError
from conferencing_widgets.files import store as att_store
from conferencing_widgets.files.resumable import ResumableUploads
from conferencing_widgets.files.service import FileService
from conferencing_widgets.files.tokens import make_upload_token, read_upload_token
from conferencing_widgets.voila import upload_handler
from conferencing_widgets.voila.serve import free_port

SECRET = "endpoint-test-secret"
LIMIT = 2_000_000


class Endpoint:
    """A tornado app with the upload routes on a thread of its own; ``url`` is the creation URL."""

    def __init__(self, uploads: ResumableUploads) -> None:
        import tornado.web

        upload_handler.set_uploads(uploads)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/conferencing/upload/"
        started = threading.Event()

        def run() -> None:
            async def main() -> None:
                app = tornado.web.Application(upload_handler.upload_handlers("/"))
                self.server = app.listen(self.port, "127.0.0.1")
                self.stop = asyncio.Event()
                self.loop = asyncio.get_running_loop()
                started.set()
                await self.stop.wait()
                self.server.stop()

            asyncio.run(main())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        upload_handler.set_uploads(None)


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    store = Store(f"sqlite:///{tmp_path / 'endpoint.db'}")
    w = seed_world(store)
    w.settings = Settings(
        data_dir=tmp_path,
        secret=SECRET,
        max_upload_bytes=LIMIT,
        allowed_types="image/*, text/plain, application/octet-stream",
    )
    yield w
    store.close()


@pytest.fixture()
def uploads(world: World) -> ResumableUploads:
    return ResumableUploads(world.settings, world.store)


@pytest.fixture()
def endpoint(uploads: ResumableUploads) -> Iterator[Endpoint]:
    ep = Endpoint(uploads)
    yield ep
    ep.close()


def token(world: World, login: str = "alice", conversation: int | None = None, ttl: float = 600) -> str:
    return make_upload_token(SECRET, login, world.acme_case_chat if conversation is None else conversation, ttl)


def headers(tok: str | None, **extra: str) -> dict[str, str]:
    out = {"Tus-Resumable": "1.0.0", **extra}
    if tok is not None:
        out["Authorization"] = "Bearer " + tok
    return out


def meta(name: str, **more: str) -> str:
    pairs = {"filename": name, **more}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(ep: Endpoint, tok: str | None, size: int, name: str = "log.bin", **more: str) -> requests.Response:
    return requests.post(
        ep.url, headers=headers(tok, **{"Upload-Length": str(size), "Upload-Metadata": meta(name, **more)}), timeout=30
    )


def patch(ep: Endpoint, location: str, tok: str | None, offset: int, data: bytes) -> requests.Response:
    h = headers(tok, **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
    return requests.patch(f"http://127.0.0.1:{ep.port}{location}", data=data, headers=h, timeout=30)


def head(ep: Endpoint, location: str, tok: str | None) -> requests.Response:
    return requests.head(f"http://127.0.0.1:{ep.port}{location}", headers=headers(tok), timeout=30)


def leftovers(world: World) -> list[Path]:
    """Partial files in staging, and blobs, spool or staged files in the blob store."""
    found = list((world.settings.data_dir / "uploads").glob("*.part"))
    blobs = world.settings.data_dir / "blobs"
    if blobs.exists():
        found += [p for p in blobs.rglob("*") if p.is_file()]
    return found


def assert_nothing_written(world: World, before: dict[str, int]) -> None:
    assert snapshot(world.store) == before
    assert leftovers(world) == []


# -- the protocol ------------------------------------------------------------------------------------


def test_upload_in_pieces_resume_from_head_and_complete(world: World, endpoint: Endpoint) -> None:
    data = os.urandom(1_500_000)
    tok = token(world)
    r = create(endpoint, tok, len(data), "trace.bin", sha256=hashlib.sha256(data).hexdigest())
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "0"
    loc = r.headers["Location"]
    assert patch(endpoint, loc, tok, 0, data[:600_000]).headers["Upload-Offset"] == "600000"
    # A resumed client asks where the upload stands, then sends only the rest.
    h = head(endpoint, loc, tok)
    assert (
        h.status_code == 200 and h.headers["Upload-Offset"] == "600000" and h.headers["Upload-Length"] == str(len(data))
    )
    assert att_store.attachments_of(world.store, world.acme_case_chat) == []  # the kernel hears nothing yet
    done = patch(endpoint, loc, tok, 600_000, data[600_000:])
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
    (att,) = att_store.attachments_of(world.store, world.acme_case_chat)
    assert done.headers["Upload-Attachment"] == str(att.id)
    assert att.sha256 == hashlib.sha256(data).hexdigest() == done.headers["Upload-Sha256"]
    assert att.uploader == "alice" and att.name == "trace.bin" and att.size == len(data)
    # A client whose last answer was lost learns the result from HEAD; the partial file is gone.
    again = head(endpoint, loc, tok)
    assert again.headers["Upload-Attachment"] == str(att.id)
    assert list((world.settings.data_dir / "uploads").glob("*.part")) == []
    # The page's kernel checks what the browser reports: this user's file in this conversation.
    files = FileService(Service(world.store, "alice", world.settings))
    assert files.uploaded(world.acme_case_chat, att.id).id == att.id


def test_options_advertise_the_protocol_and_the_limit(endpoint: Endpoint) -> None:
    r = requests.options(endpoint.url, timeout=30)
    assert r.status_code == 204 and r.headers["Tus-Version"] == "1.0.0" and r.headers["Tus-Max-Size"] == str(LIMIT)


def test_uploads_survive_a_restart_of_the_server(world: World, endpoint: Endpoint) -> None:
    data = os.urandom(300_000)
    tok = token(world)
    loc = create(endpoint, tok, len(data)).headers["Location"]
    patch(endpoint, loc, tok, 0, data[:100_000])
    # A new process: the record and the partial file are on disk, the hash is rebuilt from the file.
    upload_handler.set_uploads(ResumableUploads(world.settings, world.store))
    assert head(endpoint, loc, tok).headers["Upload-Offset"] == "100000"
    done = patch(endpoint, loc, tok, 100_000, data[100_000:])
    assert done.headers["Upload-Sha256"] == hashlib.sha256(data).hexdigest()


def test_termination_removes_the_partial_file(world: World, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    patch(endpoint, loc, tok, 0, b"x" * 500)
    r = requests.delete(f"http://127.0.0.1:{endpoint.port}{loc}", headers=headers(tok), timeout=30)
    assert r.status_code == 204
    assert head(endpoint, loc, tok).status_code == 404
    assert_nothing_written(world, before)


def test_expired_uploads_are_swept(world: World, uploads: ResumableUploads, endpoint: Endpoint) -> None:
    import time

    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    patch(endpoint, loc, tok, 0, b"x" * 10)
    assert uploads.sweep(now=time.time() + 25 * 3600) == 1
    assert head(endpoint, loc, tok).status_code == 404 and leftovers(world) == []


# -- tokens ------------------------------------------------------------------------------------------


def test_tokens_carry_user_conversation_and_expiry() -> None:
    grant = read_upload_token(make_upload_token(SECRET, "alice", 7, 60), SECRET)
    assert (grant.login, grant.conversation_id) == ("alice", 7)
    with pytest.raises(InvalidLink, match="expired"):
        read_upload_token(make_upload_token(SECRET, "alice", 7, 60, now=0), SECRET)
    with pytest.raises(InvalidLink):
        read_upload_token(make_upload_token("another secret", "alice", 7, 60), SECRET)


@pytest.mark.parametrize("case", ["missing", "garbage", "tampered", "expired", "dashboard-link", "wrong-scheme"])
def test_bad_tokens_are_refused_before_anything_is_written(world: World, endpoint: Endpoint, case: str) -> None:
    from datetime import timedelta

    from conferencing_widgets.core.identity import make_token

    before = snapshot(world.store)
    good = token(world)
    tok: str | None = {
        "missing": None,
        "garbage": "not-a-token",
        # The first character carries a full 6 bits: flipping it always breaks the signature.
        "tampered": ("B" if good[0] != "B" else "C") + good[1:],
        "expired": token(world, ttl=-5),
        "dashboard-link": make_token("alice", SECRET, timedelta(hours=1)),  # a link is not an upload token
        "wrong-scheme": None,
    }[case]
    h = headers(tok, **{"Upload-Length": "100", "Upload-Metadata": meta("a.bin")})
    if case == "wrong-scheme":
        h["Authorization"] = "Basic " + good
    r = requests.post(endpoint.url, headers=h, timeout=30)
    assert r.status_code == 401 and "token" in r.json()["error"]
    assert_nothing_written(world, before)


def test_another_conversations_or_users_token_cannot_touch_an_upload(world: World, endpoint: Endpoint) -> None:
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    patch(endpoint, loc, tok, 0, b"a" * 100)
    before = snapshot(world.store)
    for other in (token(world, conversation=world.acme_direct), token(world, login="adam")):
        assert head(endpoint, loc, other).status_code == 403
        r = patch(endpoint, loc, other, 100, b"b" * 100)
        assert r.status_code == 403 and "another" in r.json()["error"]
        r = requests.delete(f"http://127.0.0.1:{endpoint.port}{loc}", headers=headers(other), timeout=30)
        assert r.status_code == 403
    assert head(endpoint, loc, tok).headers["Upload-Offset"] == "100"  # untouched
    assert snapshot(world.store) == before


def test_a_token_for_a_conversation_the_user_is_not_in_is_refused(world: World, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    # A validly signed token is no right by itself: the service checks membership (bella is not in ACME's chat).
    r = create(endpoint, token(world, login="bella"), 100)
    assert r.status_code == 404  # the conversation is not even visible to her
    r = create(endpoint, token(world, login="erik"), 100)  # engineers read case chats but are not members
    assert r.status_code == 403 and "members" in r.json()["error"]
    r = create(endpoint, token(world, login="dora"), 100)  # a disabled account
    assert r.status_code == 403
    assert_nothing_written(world, before)


def test_rights_are_rechecked_before_bytes_and_at_completion(world: World, endpoint: Endpoint, uploads: Any) -> None:
    before = snapshot(world.store)
    tok = token(world, login="adam")
    loc = create(endpoint, tok, 1000).headers["Location"]
    patch(endpoint, loc, tok, 0, b"a" * 500)
    world.store.set_user_disabled("adam", True)  # the token is still valid; the right is gone
    r = patch(endpoint, loc, tok, 500, b"a" * 500)
    assert r.status_code == 403 and ("disabled" in r.json()["error"] or "members" in r.json()["error"])
    assert head(endpoint, loc, tok).headers["Upload-Offset"] == "500"  # refused before a byte was taken
    # At completion too: the bytes arrived while the account was fine, then it was disabled.
    world.store.set_user_disabled("adam", False)
    patch(endpoint, loc, tok, 500, b"a" * 499)
    upload_id = loc.rstrip("/").rsplit("/", 1)[1]
    grant = read_upload_token(tok, SECRET)
    writer = uploads.open_patch(grant, upload_id, 999, 1)
    writer.write(b"a")
    writer.close()
    world.store.set_user_disabled("adam", True)
    with pytest.raises(PermissionDenied):
        uploads.complete(grant, upload_id)
    world.store.set_user_disabled("adam", False)
    after = snapshot(world.store)
    assert {k: v for k, v in after.items() if k != "last_event_id"} == {
        k: v for k, v in before.items() if k != "last_event_id"
    } or att_store.attachments_of(world.store, world.acme_case_chat) == []
    assert att_store.attachments_of(world.store, world.acme_case_chat) == [] and leftovers(world) == []


# -- offsets and sizes -------------------------------------------------------------------------------


def test_offsets_beyond_the_size_and_overlapping_chunks_are_refused_and_change_nothing(
    world: World, endpoint: Endpoint
) -> None:
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    assert patch(endpoint, loc, tok, 0, b"a" * 400).status_code == 204
    before = snapshot(world.store)
    for offset, body in ((5000, b"b"), (1000, b"b"), (200, b"b" * 300), (0, b"c" * 400), (401, b"d")):
        r = patch(endpoint, loc, tok, offset, body)
        assert r.status_code == 409 and "offset" in r.json()["error"].lower(), (offset, r.text)
    for bad in ("-1", "abc", "", "+12", "0x10", "4_00"):  # not a plain number
        h = headers(tok, **{"Upload-Offset": bad, "Content-Type": "application/offset+octet-stream"})
        r = requests.patch(f"http://127.0.0.1:{endpoint.port}{loc}", data=b"x", headers=h, timeout=30)
        assert r.status_code == 409
    assert head(endpoint, loc, tok).headers["Upload-Offset"] == "400"
    part = next((world.settings.data_dir / "uploads").glob("*.part"))
    assert part.read_bytes() == b"a" * 400
    assert snapshot(world.store) == before


def test_a_request_announcing_more_than_is_left_is_refused(world: World, endpoint: Endpoint) -> None:
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    patch(endpoint, loc, tok, 0, b"a" * 900)
    r = patch(endpoint, loc, tok, 900, b"b" * 200)
    assert r.status_code == 413 and "left" in r.json()["error"]
    assert head(endpoint, loc, tok).headers["Upload-Offset"] == "900"


def test_bytes_beyond_the_declared_size_fail_the_upload_and_leave_nothing(world: World, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]

    def body() -> Iterator[bytes]:  # chunked: no Content-Length announces the excess
        yield b"a" * 800
        yield b"b" * 800

    h = headers(tok, **{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    r = requests.patch(f"http://127.0.0.1:{endpoint.port}{loc}", data=body(), headers=h, timeout=30)
    assert r.status_code in (400, 413)
    assert head(endpoint, loc, tok).status_code == 404
    assert_nothing_written(world, before)


@pytest.mark.parametrize("size", [str(LIMIT + 1), "0", "-5", "1e6", "", "99999999999999999999999"])
def test_declared_sizes_over_the_limit_or_invalid_are_refused(world: World, endpoint: Endpoint, size: str) -> None:
    before = snapshot(world.store)
    r = requests.post(
        endpoint.url,
        headers=headers(token(world), **{"Upload-Length": size, "Upload-Metadata": meta("a.bin")}),
        timeout=30,
    )
    assert r.status_code == (413 if size in (str(LIMIT + 1), "99999999999999999999999") else 400), r.text
    if size == str(LIMIT + 1):
        assert "larger than the limit" in r.json()["error"]
    assert_nothing_written(world, before)


def test_a_refused_type_is_stopped_as_soon_as_its_start_arrives(world: World, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    tok = token(world)
    html = b"<!doctype html><html><script>alert(1)</script>" + b" " * 70_000
    loc = create(endpoint, tok, len(html) * 2, "notes.txt").headers["Location"]
    r = patch(endpoint, loc, tok, 0, html)
    assert r.status_code == 415 and "text/html" in r.json()["error"]
    assert head(endpoint, loc, tok).status_code == 404
    assert_nothing_written(world, before)


def test_a_checksum_mismatch_stores_nothing(world: World, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    tok = token(world)
    loc = create(endpoint, tok, 100, sha256="0" * 64).headers["Location"]
    r = patch(endpoint, loc, tok, 0, os.urandom(100))
    assert r.status_code == 460 and "SHA-256" in r.json()["error"]
    assert_nothing_written(world, before)


def test_protocol_errors_have_clear_statuses(world: World, endpoint: Endpoint) -> None:
    tok = token(world)
    r = requests.post(endpoint.url, headers={"Authorization": "Bearer " + tok, "Upload-Length": "10"}, timeout=30)
    assert r.status_code == 412
    loc = create(endpoint, tok, 10).headers["Location"]
    h = headers(tok, **{"Upload-Offset": "0", "Content-Type": "text/plain"})
    r = requests.patch(f"http://127.0.0.1:{endpoint.port}{loc}", data=b"x", headers=h, timeout=30)
    assert r.status_code == 415
    assert head(endpoint, "/conferencing/upload/" + "0" * 32, tok).status_code == 404
    assert requests.get(f"http://127.0.0.1:{endpoint.port}/conferencing/upload/../x", timeout=30).status_code in (
        404,
        405,
    )
    r = requests.post(
        endpoint.url, headers=headers(tok, **{"Upload-Length": "10", "Upload-Metadata": "filename %%%"}), timeout=30
    )
    assert r.status_code == 400 and "base64" in r.json()["error"]


# -- file names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\boot.ini", "a\x00.png", "invoice\u202egnp.exe", "tab\there", "..", "", "dir/x.txt"],
)
def test_hostile_file_names_are_refused_and_leave_nothing(world: World, endpoint: Endpoint, name: str) -> None:
    before = snapshot(world.store)
    r = create(endpoint, token(world), 100, name)
    assert r.status_code == 400 and "name" in r.json()["error"], (name, r.text)
    assert_nothing_written(world, before)
    assert list((world.settings.data_dir / "uploads").glob("*")) == []


def test_xss_catalogue_names_are_kept_as_text(world: World, endpoint: Endpoint) -> None:
    # Markup in a name is not a path: it is stored as text, and the UI shows it escaped (tests/test_files_ui).
    tok = token(world)
    for payload in load_xss_payloads()[:12]:
        name = endpoint_safe(payload)
        r = create(endpoint, tok, 5, name)
        if r.status_code == 400:
            continue  # a payload with control characters or slashes: refused like any such name
        loc = r.headers["Location"]
        assert patch(endpoint, loc, tok, 0, b"hello").status_code == 204
    names = {a.name for a in att_store.attachments_of(world.store, world.acme_case_chat)}
    assert names and all(n in {endpoint_safe(p) for p in load_xss_payloads()} for n in names)


def endpoint_safe(payload: str) -> str:
    from conferencing_widgets.files.names import endpoint_name

    return endpoint_name(payload)[:150]


# -- photos --------------------------------------------------------------------------------------------


def jpeg_with_gps_and_rotation() -> bytes:
    from PIL import Image

    img = Image.new("RGB", (60, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    exif[0x8825] = {1: "N", 2: (48.0, 8.0, 0.0), 3: "E", 4: (11.0, 34.0, 0.0)}  # GPS IFD
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photos_lose_location_and_get_their_orientation_applied(world: World, endpoint: Endpoint) -> None:
    from PIL import Image

    data = jpeg_with_gps_and_rotation()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    tok = token(world)
    loc = create(endpoint, tok, len(data), "IMG_0001.jpg").headers["Location"]
    done = patch(endpoint, loc, tok, 0, data)
    assert done.status_code == 204
    (att,) = att_store.attachments_of(world.store, world.acme_case_chat)
    stored = FileService(Service(world.store, "alice", world.settings)).read(att.id)[1]
    img = Image.open(io.BytesIO(stored))
    assert img.size == (20, 60)  # rotated upright
    assert not img.getexif() and b"PhoneMaker" not in stored and "exif" not in img.info
    assert att.sha256 == hashlib.sha256(stored).hexdigest() and att.size == len(stored)
    assert done.headers["Upload-Sha256"] == hashlib.sha256(data).hexdigest()  # what was received


def test_images_without_exif_are_stored_byte_for_byte(world: World) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, "JPEG")
    files = FileService(Service(world.store, "alice", world.settings))
    att = files.upload_bytes(world.acme_case_chat, "plain.jpg", out.getvalue())
    assert att.sha256 == hashlib.sha256(out.getvalue()).hexdigest()


def test_the_kernel_path_strips_location_too(world: World) -> None:
    files = FileService(Service(world.store, "alice", world.settings))
    att = files.upload_bytes(world.acme_case_chat, "photo.jpg", jpeg_with_gps_and_rotation())
    assert b"PhoneMaker" not in files.read(att.id)[1]


# -- the page's kernel: tokens out, "uploaded" in ---------------------------------------------------------


def test_the_widget_issues_tokens_and_trusts_only_stored_files(world: World, endpoint: Endpoint) -> None:
    from conferencing_widgets.ui.app import ConferencingApp
    from conferencing_widgets.ui.files.upload import UploadWidget

    app = ConferencingApp(Service(world.store, "alice", world.settings), live=False)
    app.open_conversation(world.acme_case_chat)
    widget = app.messages.upload_entry
    assert isinstance(widget, UploadWidget)
    sent: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]

    widget.receive({"type": "begin", "mode": "http", "uid": "u1", "name": "a\u202eb/c.bin", "size": 1000})
    (reply,) = [m for m in sent if m["type"] == "token"]
    assert reply["name"] == "ab_c.bin" and reply["conversation"] == world.acme_case_chat  # cleaned for the endpoint
    assert read_upload_token(reply["token"], SECRET).login == "alice"
    assert list((world.settings.data_dir / "blobs").rglob("*.part")) == []  # no websocket session was opened
    widget.receive({"type": "begin", "mode": "http", "uid": "u2", "name": "big.bin", "size": LIMIT + 1})
    assert [m for m in sent if m["type"] == "refused"][-1]["message"].count("larger than the limit") == 1

    data = os.urandom(1000)
    loc = create(endpoint, reply["token"], len(data), reply["name"]).headers["Location"]
    att_id = int(patch(endpoint, loc, reply["token"], 0, data).headers["Upload-Attachment"])
    shown: list[int] = []
    widget.on_uploaded(lambda att: shown.append(att.id))
    widget.receive({"type": "uploaded", "uid": "u1", "conversation": world.acme_case_chat, "attachment": att_id})
    assert sent[-1] == {"type": "done", "uid": "u1", "attachment": att_id} and shown == [att_id]
    assert app.messages.stream.window[-1]["kind"] == "file"

    # A page cannot claim someone else's file, or one of another conversation, or a made-up id.
    adam_att = FileService(Service(world.store, "adam", world.settings)).upload_bytes(world.acme_case_chat, "x", b"x")
    for conv, claimed in (
        (world.acme_case_chat, adam_att.id),
        (world.acme_direct, att_id),
        (world.acme_case_chat, 999),
    ):
        widget.receive({"type": "uploaded", "uid": "u9", "conversation": conv, "attachment": claimed})
        assert sent[-1]["type"] == "failed"
    assert shown == [att_id]

    # A resumed upload asks for a fresh token for the conversation it began in; outsiders get none.
    widget.receive({"type": "token", "uid": "u3", "conversation": world.acme_case_chat, "name": "c.bin", "size": 10})
    assert sent[-1]["type"] == "token"
    widget.receive({"type": "token", "uid": "u4", "conversation": world.borg_case_chat, "name": "c.bin", "size": 10})
    assert sent[-1]["type"] == "refused"


def test_a_full_disk_fails_the_upload_cleanly(world: World, uploads: ResumableUploads, endpoint: Endpoint) -> None:
    before = snapshot(world.store)
    tok = token(world)
    loc = create(endpoint, tok, 1000).headers["Location"]
    upload_id = loc.rstrip("/").rsplit("/", 1)[1]
    grant = read_upload_token(tok, SECRET)
    writer = uploads.open_patch(grant, upload_id, 0, None)

    class FullDisk:
        def write(self, _data: object) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            return None

    writer._fh = FullDisk()  # type: ignore[assignment]
    with pytest.raises(StorageError) as caught:
        writer.write(b"x" * 100)
    assert upload_handler.status_of(caught.value) == 503 and "/" not in str(caught.value)
    assert head(endpoint, loc, tok).status_code == 404
    assert_nothing_written(world, before)

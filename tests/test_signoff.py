"""Customer sign-off and the sealed case record bundle: rights, bad input with nothing written (tables and blob
store), the bundle's content and hashes, immutability after later changes, and a new version after a reopen."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from support import World

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.model import CaseStatus, MessageKind
from conferencing_widgets.session import Session
from conferencing_widgets.signoff.signature import MAX_POINTS, PAD_HEIGHT, PAD_WIDTH, signature_png
from conferencing_widgets.store.blobs import BlobStore
from conferencing_widgets.ui.app import ConferencingApp

pytestmark = pytest.mark.filterwarnings("ignore:Widget.widgets is deprecated")
SIGNATURE = [[(20.0, 120.0), (60.0, 40.0), (90.0, 110.0), (140.0, 50.0)], [(200.0, 80.0), (260.0, 82.0)]]


@pytest.fixture()
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def session(world: World, login: str, blobs: BlobStore) -> Session:
    return Session.of_service(world.service(login), blobs=blobs)


def resolved_and_asked(world: World, blobs: BlobStore, summary: str = "Spindle bearing replaced.") -> None:
    tom = session(world, "tom", blobs)
    tom.cases.set_status(world.acme_case.id, "resolved")
    tom.signoff.request(world.acme_case_chat, summary)


def state(world: World, blobs: BlobStore) -> tuple[dict[str, int], list[str]]:
    return world.snapshot(), sorted(blobs.stored_hashes())


def test_the_customer_signs_the_case_closes_and_the_bundle_is_sealed_with_matching_hashes(
    seeded: World, blobs: BlobStore
) -> None:
    tom, alice = session(seeded, "tom", blobs), session(seeded, "alice", blobs)
    tom.files.upload_bytes(seeded.acme_case_chat, "vibration.csv", b"rpm,mm/s\n6000,4.2\n")
    tom.cases.set_status(seeded.acme_case.id, "resolved")
    asked = tom.signoff.request(seeded.acme_case_chat, "Bearing <b>replaced</b>")
    assert asked.version == 1 and not asked.signed
    notice = seeded.store.latest_messages(seeded.acme_case_chat, limit=1)[0]
    assert notice.kind is MessageKind.SYSTEM and "asked the customer to confirm the repair" in notice.body
    assert alice.signoff.may_sign(seeded.acme_case_chat) and not tom.signoff.may_sign(seeded.acme_case_chat)

    sealed = alice.signoff.sign(seeded.acme_case_chat, name="  Alice  <i>Moreau</i> ", strokes=SIGNATURE)

    assert seeded.store.get_case(seeded.acme_case.id).status is CaseStatus.CLOSED
    rec = sealed.record
    assert (rec.version, rec.signed_by, rec.signer_name) == (1, "alice", "Alice <i>Moreau</i>")
    html = blobs.read(sealed.bundle.sha256)
    manifest = json.loads(blobs.read(sealed.manifest.sha256))
    assert sealed.bundle.conversation_id == sealed.manifest.conversation_id == seeded.acme_case_chat
    assert manifest["bundle"]["sha256"] == hashlib.sha256(html).hexdigest() == sealed.bundle.sha256
    assert manifest["bundle"]["size"] == len(html)
    [listed] = manifest["files"]
    stored_csv = blobs.read(listed["sha256"])
    assert listed["name"] == "vibration.csv" and hashlib.sha256(stored_csv).hexdigest() == listed["sha256"]
    # The signature PNG is embedded in the HTML; its hash is the manifest's.
    uri = re.search(rb'class="signature" src="data:image/png;base64,([^"]+)"', html)
    assert uri is not None
    png = base64.b64decode(uri.group(1))
    assert png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == manifest["signature_png"]["sha256"]
    assert [(h["from"], h["to"]) for h in manifest["status_history"]] == [("open", "resolved"), ("resolved", "closed")]
    assert manifest["clocks"] and manifest["clocks"][0]["clock"] == "first_response"
    text = html.decode()
    # User values are escaped: the name and the summary show as text, never as markup.
    assert "Alice &lt;i&gt;Moreau&lt;/i&gt;" in text and "<i>Moreau" not in text
    assert "Bearing &lt;b&gt;replaced&lt;/b&gt;" in text
    assert "The spindle vibrates above 6000 rpm." in text  # the transcript
    assert "script-src" not in text and "<script" not in text and "default-src 'none'" in text


def test_a_later_change_leaves_the_bundle_alone_and_a_new_sign_off_after_reopen_is_version_2(
    seeded: World, blobs: BlobStore
) -> None:
    resolved_and_asked(seeded, blobs)
    tom, alice = session(seeded, "tom", blobs), session(seeded, "alice", blobs)
    first = alice.signoff.sign(seeded.acme_case_chat, name="Alice Moreau", strokes=SIGNATURE)
    before = blobs.read(first.bundle.sha256), blobs.read(first.manifest.sha256)

    tom.chat.post(seeded.acme_case_chat, "One more note after the sign-off.")
    tom.files.upload_bytes(seeded.acme_case_chat, "late.txt", b"late file")
    with pytest.raises(PermissionDenied, match="closed"):
        alice.signoff.sign(seeded.acme_case_chat, name="Alice Moreau", strokes=SIGNATURE)
    assert (blobs.read(first.bundle.sha256), blobs.read(first.manifest.sha256)) == before
    assert [r.version for r in alice.signoff.signoffs(seeded.acme_case.id)] == [1]

    tom.cases.set_status(seeded.acme_case.id, "waiting_on_vendor")  # reopened
    tom.cases.set_status(seeded.acme_case.id, "resolved")
    tom.signoff.request(seeded.acme_case_chat, "Second repair.")
    second = session(seeded, "adam", blobs).signoff.sign(seeded.acme_case_chat, name="Adam F.", strokes=SIGNATURE)

    assert second.record.version == 2 and second.bundle.name.endswith("-record-v2.html")
    assert second.bundle.sha256 != first.bundle.sha256
    assert (blobs.read(first.bundle.sha256), blobs.read(first.manifest.sha256)) == before
    names = [f["name"] for f in json.loads(blobs.read(second.manifest.sha256))["files"]]
    assert "late.txt" in names and first.bundle.name in names  # the first bundle is a file of the case now
    assert [r.version for r in tom.signoff.signoffs(seeded.acme_case.id)] == [1, 2]


@pytest.mark.parametrize(
    ("login", "error", "says"),
    [
        ("tom", PermissionDenied, "Only the customer"),
        ("erik", PermissionDenied, "Only the customer"),  # engineers read every case chat, yet never sign
        ("bella", NotFound, "No conversation"),  # another company's customer: the chat does not exist for her
    ],
)
def test_only_the_case_customers_sign(
    seeded: World, blobs: BlobStore, login: str, error: type[Exception], says: str
) -> None:
    resolved_and_asked(seeded, blobs)
    before = state(seeded, blobs)
    with pytest.raises(error, match=says):
        session(seeded, login, blobs).signoff.sign(seeded.acme_case_chat, name="Someone", strokes=SIGNATURE)
    assert state(seeded, blobs) == before


def test_only_vendor_staff_of_a_resolved_case_ask_for_sign_off(seeded: World, blobs: BlobStore) -> None:
    before = state(seeded, blobs)
    with pytest.raises(PermissionDenied, match="resolved"):
        session(seeded, "tom", blobs).signoff.request(seeded.acme_case_chat)
    session(seeded, "tom", blobs).cases.set_status(seeded.acme_case.id, "resolved")
    before = state(seeded, blobs)
    with pytest.raises(PermissionDenied, match="vendor's staff"):
        session(seeded, "alice", blobs).signoff.request(seeded.acme_case_chat)
    with pytest.raises(PermissionDenied, match="Join this chat"):
        session(seeded, "erik", blobs).signoff.request(seeded.acme_case_chat)
    with pytest.raises(NotFound):
        session(seeded, "bella", blobs).signoff.request(seeded.acme_case_chat)
    with pytest.raises(InvalidInput, match="service case"):
        session(seeded, "tom", blobs).signoff.request(seeded.vendor_direct)
    assert state(seeded, blobs) == before
    # Without a request the customer has nothing to sign.
    with pytest.raises(InvalidInput, match="No sign-off was asked"):
        session(seeded, "alice", blobs).signoff.sign(seeded.acme_case_chat, name="Alice", strokes=SIGNATURE)
    assert state(seeded, blobs) == before


@pytest.mark.parametrize(
    ("strokes", "name", "error", "says"),
    [
        ([], "Alice", InvalidInput, "Draw your signature"),
        ([[], []], "Alice", InvalidInput, "Draw your signature"),
        ([[(float(i % PAD_WIDTH), 5.0) for i in range(1_000_000)]], "Alice", LimitExceeded, "too many points"),
        ([[(1.0, float("nan"))]], "Alice", InvalidInput, "could not be read"),
        ([["x", "y"]], "Alice", InvalidInput, "could not be read"),
        ("scribble", "Alice", InvalidInput, "could not be read"),
        (SIGNATURE, "   ", InvalidInput, "Type your name"),
        (SIGNATURE, "A" * 101, LimitExceeded, "longer than 100"),
        (SIGNATURE, "Alice\u202e", InvalidInput, "cannot be shown"),
    ],
    ids=[
        "no-strokes",
        "empty-strokes",
        "million-points",
        "nan",
        "not-numbers",
        "not-a-list",
        "blank-name",
        "long-name",
        "bidi-name",
    ],  # fmt: skip
)
def test_bad_signatures_and_names_are_refused_and_nothing_is_written(
    seeded: World, blobs: BlobStore, strokes: object, name: str, error: type[Exception], says: str
) -> None:
    resolved_and_asked(seeded, blobs)
    before = state(seeded, blobs)
    with pytest.raises(error, match=says):
        session(seeded, "alice", blobs).signoff.sign(seeded.acme_case_chat, name=name, strokes=strokes)
    assert state(seeded, blobs) == before
    assert seeded.store.get_case(seeded.acme_case.id).status is CaseStatus.RESOLVED


def test_a_failure_while_sealing_rolls_everything_back_and_removes_the_blobs(
    seeded: World, blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved_and_asked(seeded, blobs)
    before = state(seeded, blobs)
    alice = session(seeded, "alice", blobs)
    from conferencing_widgets.signoff import store as so_store

    def broken(*_a: object, **_k: object) -> bool:
        raise InvalidInput("simulated failure after the files were stored")

    monkeypatch.setattr(so_store, "seal", broken)
    with pytest.raises(InvalidInput, match="simulated"):
        alice.signoff.sign(seeded.acme_case_chat, name="Alice", strokes=SIGNATURE)
    assert state(seeded, blobs) == before
    assert seeded.store.get_case(seeded.acme_case.id).status is CaseStatus.RESOLVED


def test_signature_points_at_the_limit_are_accepted_and_drawn_inside_the_pad() -> None:
    many = [[(float(i % PAD_WIDTH), float(i % PAD_HEIGHT)) for i in range(MAX_POINTS)]]
    from conferencing_widgets.signoff.signature import clean_strokes

    assert sum(len(s) for s in clean_strokes(many)) == MAX_POINTS
    outside = clean_strokes([[(-50, -50), (10_000, 10_000)]])
    assert outside == [[(0.0, 0.0), (float(PAD_WIDTH), float(PAD_HEIGHT))]]
    png = signature_png(clean_strokes(SIGNATURE))
    assert png == signature_png(clean_strokes(SIGNATURE))  # deterministic bytes

    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size == (PAD_WIDTH, PAD_HEIGHT) and img.getextrema()[0] < 100  # ink on the paper


def test_the_panel_shows_for_the_customer_and_signing_from_it_closes_the_case(seeded: World, blobs: BlobStore) -> None:
    tom = ConferencingApp(session(seeded, "tom", blobs), live=False)
    alice = ConferencingApp(session(seeded, "alice", blobs), live=False)
    tom.open_conversation(seeded.acme_case_chat)
    alice.open_conversation(seeded.acme_case_chat)
    assert tom.cases.signoff.staff_row.layout.display == "none"
    tom.cases.set_status("resolved")
    assert tom.cases.signoff.staff_row.layout.display == ""
    assert "cw-signoff" in alice.cases.signoff.panel._dom_classes
    assert "cw-signature" in alice.cases.signoff.pad._dom_classes
    tom.cases.signoff.summary_input.value = "Bearing replaced"
    assert tom.cases.signoff.request()
    alice.cases.refresh()
    panel = alice.cases.signoff
    assert panel.panel.layout.display == "" and panel.summary.value == "Bearing replaced"
    assert panel.confirm() is None and "Draw your signature" in panel.error.value
    panel.draw(SIGNATURE)
    assert panel.confirm() is None and "Type your name" in panel.error.value
    panel.name.value = "Alice Moreau"
    sealed = panel.confirm()
    assert sealed is not None and panel.error.value == ""
    assert alice.cases.view is not None and alice.cases.view.case.status is CaseStatus.CLOSED
    assert panel.panel.layout.display == "none"

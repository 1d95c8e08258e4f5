"""Sign-off in real Chromium: the technician resolves the case and asks for sign-off; the customer's page shows the
"Confirm the repair" panel live, the test signs on the ipycanvas pad with the mouse, types a name and confirms; both
pages show the case closed; the bundle and its manifest appear in Details, are downloaded, and the manifest's
SHA-256 hashes match the downloaded bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Store
from conferencing_widgets.session import Session

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
APP = ".cw-app"
SELECTED = (
    "(sel) => { const s = document.querySelector(sel);"
    " return s && s.selectedOptions[0]?.textContent.replace(/\\u00a0/g, ' '); }"
)
"""The visible label of a select's chosen option (ipywidgets writes spaces as no-break spaces)."""

def open_case(page: Callable[..., Any], server: VoilaServer, login: str, title: str) -> Any:
    p = page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile")
    p.locator(".cw-history-case .cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    p.locator(".cw-messages .cw-case-status").first.wait_for(state="visible")
    return p


def download(p: Any, attachment_id: int) -> bytes:
    with p.expect_download(timeout=30_000) as dl:
        p.locator(f".cw-details-files [data-cw-file='{attachment_id}']").first.click()
    return Path(dl.value.path()).read_bytes()


def test_the_customer_signs_on_the_pad_the_case_closes_and_the_bundle_downloads_with_matching_hashes(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    title = f"Sign-off {secrets.token_hex(3)}"
    case = store.add_case(number=f"SR-S-{secrets.token_hex(3)}", title=title, group_id="acme", technicians=["tom.tech"])
    alice = Session(None, store, "alice")
    conv = alice.chat.create_conversation(kind=ConversationKind.SERVICE_CASE, title=title, case_id=case.id)
    alice.chat.post(conv.id, "The spindle stops at random.")
    customer = open_case(page, server, "alice", title)
    technician = open_case(page, server, "tom.tech", title)

    technician.locator(".cw-messages .cw-case-status select").select_option(label="resolved")
    technician.locator(".cw-signoff-summary-input input").fill("Spindle drive replaced and tested.")
    technician.locator(".cw-signoff-request").click()

    panel = customer.locator(".cw-signoff")
    panel.wait_for(state="visible", timeout=20_000)
    wait_for_text(panel, "Confirm the repair")
    wait_for_text(panel, "Spindle drive replaced and tested.")
    pad = customer.locator("canvas.cw-signature")
    box = pad.bounding_box()
    assert box is not None
    customer.mouse.move(box["x"] + 30, box["y"] + 110)
    customer.mouse.down()
    for i in range(1, 13):
        customer.mouse.move(box["x"] + 30 + i * 25, box["y"] + 110 - (i % 2) * 70, steps=3)
    customer.mouse.up()
    customer.locator(".cw-signoff-name input").fill("Alice Moreau")
    # The pad's points reach the kernel as mouse events on the same socket, before the click.
    customer.locator(".cw-signoff-confirm").click()

    wait_for_text(customer.locator(".cw-messages .cw-case-status"), "closed", timeout_ms=30_000)
    technician.wait_for_function(
        f"() => ({SELECTED})('.cw-messages .cw-case-status select') === 'closed'", timeout=30_000
    )
    panel.wait_for(state="hidden")
    [sealed] = Session(None, store, "alice").signoff.signoffs(case.id)
    assert sealed.signer_name == "Alice Moreau"
    assert sealed.bundle_attachment_id is not None and sealed.manifest_attachment_id is not None
    files = customer.locator(".cw-details-files")
    wait_for_text(files, "record-v1.html")
    wait_for_text(files, "record-v1.manifest.json")

    manifest_bytes = download(customer, sealed.manifest_attachment_id)
    html = download(customer, sealed.bundle_attachment_id)
    manifest = json.loads(manifest_bytes)
    assert manifest["bundle"]["sha256"] == hashlib.sha256(html).hexdigest()
    assert manifest["signer_name"] == "Alice Moreau" and manifest["version"] == 1
    found = re.search(rb'class="signature" src="data:image/png;base64,([^"]+)"', html)
    assert found is not None
    png = base64.b64decode(found.group(1))
    assert hashlib.sha256(png).hexdigest() == manifest["signature_png"]["sha256"]
    # The signature holds ink: the drawn strokes reached the server.
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(png)).convert("L").getextrema()[0] < 100
    assert [(h["from"], h["to"]) for h in manifest["status_history"]][-2:] == [
        ("open", "resolved"),
        ("resolved", "closed"),
    ]

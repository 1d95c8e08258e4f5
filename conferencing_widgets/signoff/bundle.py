"""The sealed case record bundle: one self-contained HTML file and its JSON manifest (SHA-256 hashes).

The HTML is the customer-facing transcript (``transcript.render.for_service`` with the signer's rights: the
transcript a customer would get, whiteboards embedded as PNG data URIs, calls with their durations) with a
"case record" section put in front: the summary, the signature (a PNG data URI) with the signer's typed name and
time, the list of files with their SHA-256, the status history and the response-clock figures. Every user value
is autoescaped by Jinja2; the page keeps the transcript's Content-Security-Policy (no scripts, images only as
data: URIs), so it opens anywhere offline.

HTML rather than PDF: none of the PDF libraries here renders the transcript's HTML faithfully without a browser
or native libraries, and the HTML opens in any browser and prints to PDF there.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import escape

from conferencing_widgets.cases.clocks import CaseClocks, Clock
from conferencing_widgets.core import templating
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import safe_filename_display
from conferencing_widgets.core.model import ServiceCase, StatusChange, User
from conferencing_widgets.signoff.store import ListedFile

FORMAT = "conferencing-case-record/1"
"""The manifest's format name (bump the number when its fields change meaning)."""


@dataclass(frozen=True, kw_only=True)
class BundleInput:
    """Everything a bundle shows, read once inside the sign-off's transaction."""

    case: ServiceCase
    customer_name: str
    version: int
    summary: str
    requested_by: str
    signer: User
    signer_name: str
    signed_at: datetime
    signature_png: bytes
    transcript_html: str
    files: list[ListedFile]
    conversation_titles: dict[int, str]
    history: list[StatusChange]
    clocks: CaseClocks
    people: dict[str, str]
    """Display names by login."""


@dataclass(frozen=True, kw_only=True)
class Bundle:
    """The two files of a sealed sign-off."""

    html_name: str
    html: bytes
    manifest_name: str
    manifest: bytes

    @property
    def html_sha256(self) -> str:
        return hashlib.sha256(self.html).hexdigest()

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest).hexdigest()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(delta: timedelta) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: a clock figure."""
    secs = max(0, int(delta.total_seconds()))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min" if m else f"{sec} s"


def _clock_row(key: str, label: str, clock: Clock | None) -> dict[str, Any] | None:
    if clock is None:
        return None
    met = clock.met
    return {
        "key": key,
        "label": label,
        "elapsed": span(clock.elapsed),
        "elapsed_s": int(clock.elapsed.total_seconds()),
        "target": span(clock.target) if clock.target is not None else "-",
        "target_s": int(clock.target.total_seconds()) if clock.target is not None else None,
        "state": _("open") if clock.open else (_("met") if met else (_("missed") if met is False else "-")),
        "met": met,
    }


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = templating.environment("signoff/templates")
    env.filters.update(iso=_iso, utc=_when, file_name=lambda n: safe_filename_display(n, 200))
    return env


def _slug(text: str) -> str:
    keep = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in text)
    return "-".join(p for p in keep.split("-") if p)[:60] or "case"


def build(data: BundleInput) -> Bundle:
    """Render the bundle's HTML and manifest. Pure: the same input gives the same bytes."""
    marker = "<body>\n"
    if marker not in data.transcript_html:
        raise InvalidInput("The transcript could not be read for the case record; try again.")
    signature_sha = hashlib.sha256(data.signature_png).hexdigest()
    clocks = [
        row
        for row in (
            _clock_row("first_response", _("First response"), data.clocks.first),
            _clock_row("next_response", _("Next response"), data.clocks.next),
        )
        if row is not None
    ]
    waits = [
        {
            "kind": _("first response") if w.first else _("next response"),
            "start": w.start,
            "end": w.end,
            "elapsed": span(w.elapsed),
            "answered": w.answered,
        }
        for w in data.clocks.waits
    ]
    section = (
        environment()
        .get_template("record.html.j2")
        .render(
            d=data,
            name=lambda login: data.people.get(login, login),
            signature_uri="data:image/png;base64," + base64.b64encode(data.signature_png).decode("ascii"),
            signature_sha=signature_sha,
            clocks=clocks,
            waits=waits,
        )
    )
    html = data.transcript_html.replace(marker, marker + section, 1)
    title = _("Case record: {number}, version {version}").format(number=data.case.number, version=data.version)
    html = _retitle(html, title)
    html_bytes = html.encode("utf-8")
    base = f"{_slug(data.case.number)}-record-v{data.version}"
    html_name = f"{base}.html"
    manifest = {
        "format": FORMAT,
        "case": {"number": data.case.number, "title": data.case.name, "customer": data.customer_name},
        "version": data.version,
        "summary": data.summary,
        "requested_by": data.requested_by,
        "signed_by": data.signer.login,
        "signer_name": data.signer_name,
        "signed_at": _iso(data.signed_at),
        "bundle": {
            "name": html_name,
            "media_type": "text/html",
            "size": len(html_bytes),
            "sha256": hashlib.sha256(html_bytes).hexdigest(),
        },
        "signature_png": {"sha256": signature_sha, "size": len(data.signature_png), "embedded_in": html_name},
        "files": [
            {
                "name": f.name,
                "conversation": data.conversation_titles.get(f.conversation_id, ""),
                "media_type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
                "shared_by": f.uploader,
                "shared_at": _iso(f.created_at),
            }
            for f in data.files
        ],
        "status_history": [
            {"from": c.from_status.value, "to": c.to_status.value, "by": c.by, "at": _iso(c.at)} for c in data.history
        ],
        "clocks": [
            {"clock": row["key"], "elapsed_s": row["elapsed_s"], "target_s": row["target_s"], "met": row["met"]}
            for row in clocks
        ],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return Bundle(html_name=html_name, html=html_bytes, manifest_name=f"{base}.manifest.json", manifest=manifest_bytes)


def _retitle(html: str, title: str) -> str:
    start, end = html.find("<title>"), html.find("</title>")
    if start < 0 or end < start:
        return html
    return html[: start + len("<title>")] + str(escape(title)) + html[end:]

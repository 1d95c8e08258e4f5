"""Sign-off queries: requests, the sealed rows, the files a bundle lists. No rights here (``service.py``).

A request and its notice and events are one transaction; the sign-off itself is written by ``service.sign`` inside
one transaction with the case's close, so the row, the status and the bundle's files appear together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.model import MessageKind, NewMessage
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.store import schema as s

CASE_EVENT = EventKind.CASE.value


@dataclass(frozen=True, kw_only=True)
class SignoffRecord:
    """One sign-off version of a case: asked for, and (once signed) sealed."""

    id: int
    case_id: int
    conversation_id: int
    """The chat it was asked in; the bundle is stored as files of this chat."""
    version: int
    """1 for the first sign-off of the case, then 2, 3 ... after each reopen and new resolve."""
    summary: str
    """The short summary staff wrote for the customer."""
    requested_by: str
    requested_at: datetime
    signed_by: str | None = None
    signer_name: str | None = None
    """The name the customer typed (not their account's display name)."""
    signed_at: datetime | None = None
    signature_sha256: str | None = None
    bundle_attachment_id: int | None = None
    """The sealed HTML bundle (a file of the chat)."""
    manifest_attachment_id: int | None = None
    """Its JSON manifest with the SHA-256 hashes."""

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


@dataclass(frozen=True, kw_only=True)
class ListedFile:
    """A file of the case's chats as the bundle lists it."""

    conversation_id: int
    name: str
    media_type: str
    size: int
    sha256: str
    uploader: str
    created_at: datetime


def _record(r: Any) -> SignoffRecord:
    return SignoffRecord(
        id=int(r.id),
        case_id=int(r.case_id),
        conversation_id=int(r.conversation_id),
        version=int(r.version),
        summary=r.summary,
        requested_by=r.requested_by,
        requested_at=r.requested_at,
        signed_by=r.signed_by,
        signer_name=r.signer_name,
        signed_at=r.signed_at,
        signature_sha256=r.signature_sha256,
        bundle_attachment_id=r.bundle_attachment_id,
        manifest_attachment_id=r.manifest_attachment_id,
    )


def pending(store: Store, case_id: int) -> SignoffRecord | None:
    """The case's request not signed yet, if any."""
    t = s.case_signoffs
    with store.reading() as conn:
        row = conn.execute(select(t).where(t.c.case_id == case_id, t.c.signed_at.is_(None))).first()
    return _record(row) if row is not None else None


def signoffs(store: Store, case_id: int) -> list[SignoffRecord]:
    """Every sign-off of a case, signed or not, oldest version first."""
    t = s.case_signoffs
    with store.reading() as conn:
        rows = conn.execute(select(t).where(t.c.case_id == case_id).order_by(t.c.version)).all()
    return [_record(r) for r in rows]


def request(
    store: Store,
    *,
    case_id: int,
    conversation_id: int,
    summary: str,
    by: str,
    notice: str,
    at: datetime | None = None,
) -> SignoffRecord:
    """Ask for sign-off: a new version, or the pending request re-asked (its summary and chat replaced).

    Posts ``notice`` in the chat and a ``case`` event in every chat of the case, so open pages show the panel.
    """
    t = s.case_signoffs
    now = at or utcnow()
    with store.atomic() as conn:
        row = conn.execute(select(t).where(t.c.case_id == case_id, t.c.signed_at.is_(None))).first()
        if row is not None:
            conn.execute(
                update(t)
                .where(t.c.id == row.id)
                .values(conversation_id=conversation_id, summary=summary, requested_by=by, requested_at=now)
            )
            signoff_id = int(row.id)
        else:
            top = conn.execute(select(func.max(t.c.version)).where(t.c.case_id == case_id)).scalar()
            signoff_id = int(
                conn.execute(
                    insert(t)
                    .values(
                        case_id=case_id,
                        conversation_id=conversation_id,
                        version=int(top or 0) + 1,
                        summary=summary,
                        requested_by=by,
                        requested_at=now,
                    )
                    .returning(t.c.id)
                ).scalar_one()
            )
        store.post_message(
            NewMessage(conversation_id=conversation_id, body=notice, kind=MessageKind.SYSTEM), author=by, at=now
        )
        _case_events(store, conn, case_id, {"case_id": case_id, "signoff": signoff_id})
        out = conn.execute(select(t).where(t.c.id == signoff_id)).one()
    return _record(out)


def _case_events(store: Store, conn: Connection, case_id: int, payload: dict[str, Any]) -> None:
    chats = conn.execute(
        select(s.conversations.c.id).where(s.conversations.c.case_id == case_id).order_by(s.conversations.c.id)
    ).scalars()
    for chat_id in list(chats):
        store.append_event(conn, CASE_EVENT, conversation_id=int(chat_id), ref_id=case_id, payload=payload)


def seal(
    conn: Connection,
    signoff_id: int,
    *,
    signed_by: str,
    signer_name: str,
    signed_at: datetime,
    signature_sha256: str,
    bundle_attachment_id: int,
    manifest_attachment_id: int,
) -> bool:
    """Mark a request signed inside the caller's transaction; False when it was signed meanwhile."""
    t = s.case_signoffs
    return bool(
        conn.execute(
            update(t)
            .where(t.c.id == signoff_id, t.c.signed_at.is_(None))
            .values(
                signed_by=signed_by,
                signer_name=signer_name,
                signed_at=signed_at,
                signature_sha256=signature_sha256,
                bundle_attachment_id=bundle_attachment_id,
                manifest_attachment_id=manifest_attachment_id,
            )
        ).rowcount
    )


def listed_files(store: Store, conversation_ids: Sequence[int]) -> list[ListedFile]:
    """The files of these chats, oldest first, with their content hashes."""
    if not conversation_ids:
        return []
    a = s.attachments
    with store.reading() as conn:
        rows = conn.execute(
            select(a).where(a.c.conversation_id.in_(sorted(set(conversation_ids)))).order_by(a.c.created_at, a.c.id)
        ).all()
    return [
        ListedFile(
            conversation_id=int(r.conversation_id),
            name=r.name,
            media_type=r.media_type,
            size=int(r.size),
            sha256=r.sha256,
            uploader=r.uploader,
            created_at=r.created_at,
        )
        for r in rows
    ]

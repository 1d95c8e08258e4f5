"""Attachment metadata: store functions over the ``attachments`` table (no permission checks: see ``files.py``).

An attachment row, its file message and its feed event are written in one transaction, and the staged blob is
moved to its content address as the last step of that transaction, so either all of it exists or none does.
Removing content is guarded by a per-hash lock, so a blob another attachment references is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, text

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment, Message, MessageKind, NewMessage
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.blobs import BlobStore, check_sha256
from conferencing_widgets.store.store import Store, utcnow

ATTACHMENT_EVENT = EventKind.ATTACHMENT.value
"""Feed event kind appended with every new attachment (conversation_id and ref_id set)."""


def _attachment(r: Any) -> Attachment:
    return Attachment(
        id=int(r.id),
        conversation_id=int(r.conversation_id),
        uploader=r.uploader,
        name=r.name,
        media_type=r.media_type,
        size=int(r.size),
        sha256=r.sha256,
        created_at=r.created_at,
    )


def lock_content(store: Store, conn: Connection, sha256: str) -> None:
    """Serialise writers of one content hash until the transaction ends.

    SQLite transactions here begin IMMEDIATE and so are serialised already; PostgreSQL takes an advisory lock.
    """
    if store.backend == "postgresql":
        key = int(check_sha256(sha256)[:15], 16)  # 60 bits: fits a signed bigint
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def get_attachment(store: Store, attachment_id: int) -> Attachment:
    """One attachment, or ``NotFound``."""
    with store.reading() as conn:
        r = conn.execute(select(s.attachments).where(s.attachments.c.id == int(attachment_id))).first()
    if r is None:
        raise NotFound(_("No file {attachment_id}.").format(attachment_id=attachment_id))
    return _attachment(r)


def get_attachments(store: Store, attachment_ids: Sequence[int]) -> dict[int, Attachment]:
    """Several attachments by id (missing ids are left out)."""
    ids = sorted({int(i) for i in attachment_ids})
    if not ids:
        return {}
    with store.reading() as conn:
        rows = conn.execute(select(s.attachments).where(s.attachments.c.id.in_(ids))).all()
    return {int(r.id): _attachment(r) for r in rows}


def _type_filter(media_prefixes: Sequence[str] | None, media_types: Sequence[str] | None = None) -> Any:
    if media_types:
        return s.attachments.c.media_type.in_(list(media_types))
    if not media_prefixes:
        return None
    return or_(*(s.attachments.c.media_type.startswith(p, autoescape=True) for p in media_prefixes))


def attachments_of(
    store: Store,
    conversation_id: int,
    *,
    limit: int = 50,
    before_id: int | None = None,
    media_prefixes: Sequence[str] | None = None,
    media_types: Sequence[str] | None = None,
) -> list[Attachment]:
    """A conversation's attachments, newest first (keyset paging with ``before_id``).

    ``media_prefixes`` such as ``("image/", "video/")``, or exact ``media_types``, keep only those types.
    """
    q = select(s.attachments).where(s.attachments.c.conversation_id == int(conversation_id))
    if before_id is not None:
        q = q.where(s.attachments.c.id < int(before_id))
    where = _type_filter(media_prefixes, media_types)
    if where is not None:
        q = q.where(where)
    q = q.order_by(s.attachments.c.id.desc()).limit(max(1, int(limit)))
    with store.reading() as conn:
        return [_attachment(r) for r in conn.execute(q)]


def count_attachments(
    store: Store,
    conversation_id: int,
    *,
    media_prefixes: Sequence[str] | None = None,
    media_types: Sequence[str] | None = None,
) -> int:
    """How many attachments a conversation holds (of some types)."""
    q = select(func.count()).select_from(s.attachments).where(s.attachments.c.conversation_id == int(conversation_id))
    where = _type_filter(media_prefixes, media_types)
    if where is not None:
        q = q.where(where)
    with store.reading() as conn:
        return int(conn.execute(q).scalar_one())


def is_referenced(store: Store, sha256: str) -> bool:
    """Whether any attachment uses this content."""
    with store.reading() as conn:
        return (
            conn.execute(select(s.attachments.c.id).where(s.attachments.c.sha256 == sha256).limit(1)).first()
            is not None
        )


def add_attachment(
    store: Store,
    *,
    conversation_id: int,
    uploader: str,
    name: str,
    media_type: str,
    size: int,
    sha256: str,
    body: str,
    client_id: str | None = None,
    before_commit: Callable[[], None] | None = None,
    at: datetime | None = None,
) -> tuple[Attachment, Message, bool]:
    """Record an attachment with its file message and feed event; returns them and whether they are new.

    ``before_commit`` runs last inside the transaction (it moves the staged blob into place), so its failure
    rolls everything back. A repeated ``client_id`` returns the first attachment and runs nothing. ``at``
    backdates the attachment and its message, for the demo and tests only.
    """
    check_sha256(sha256)
    with store.atomic() as conn:
        lock_content(store, conn, sha256)
        if client_id:
            dup = conn.execute(
                select(s.messages).where(s.messages.c.author == uploader, s.messages.c.client_id == client_id)
            ).first()
            if dup is not None and dup.kind == MessageKind.FILE.value and dup.ref_id is not None:
                att = conn.execute(select(s.attachments).where(s.attachments.c.id == dup.ref_id)).first()
                if att is not None:
                    return _attachment(att), store.get_message(int(dup.id)), False
        row = conn.execute(
            insert(s.attachments)
            .values(
                conversation_id=int(conversation_id),
                uploader=uploader,
                name=name,
                media_type=media_type,
                size=int(size),
                sha256=sha256,
                created_at=at or utcnow(),
            )
            .returning(*s.attachments.c)
        ).one()
        attachment = _attachment(row)
        message, fresh = store.post_message(
            NewMessage(
                conversation_id=attachment.conversation_id,
                body=body,
                client_id=client_id,
                kind=MessageKind.FILE,
                ref_id=attachment.id,
            ),
            author=uploader,
            at=at,
        )
        if not fresh:
            raise InvalidInput(_("This upload's client id was already used for another message; upload again."))
        store.append_event(
            conn,
            ATTACHMENT_EVENT,
            conversation_id=attachment.conversation_id,
            ref_id=attachment.id,
            payload={"media_type": media_type, "size": int(size), "message_id": message.id},
        )
        if before_commit is not None:
            before_commit()
    return attachment, message, True


def delete_blob_if_unreferenced(store: Store, blobs: BlobStore, sha256: str) -> bool:
    """Delete content no attachment references (under the hash's lock); True when it was deleted."""
    with store.atomic() as conn:
        lock_content(store, conn, sha256)
        used = conn.execute(select(s.attachments.c.id).where(s.attachments.c.sha256 == sha256).limit(1)).first()
        if used is not None:
            return False
        blobs.delete(sha256)
    return True


def sweep_unreferenced(store: Store, blobs: BlobStore) -> list[str]:
    """Delete every stored blob that no attachment references (e.g. left by a crash); returns their hashes."""
    removed = []
    for sha in blobs.stored_hashes():
        if not is_referenced(store, sha) and delete_blob_if_unreferenced(store, blobs, sha):
            removed.append(sha)
    return removed

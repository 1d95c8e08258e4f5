"""Realistic demo data, seeded idempotently through the app's own stores and services.

``people`` holds the companies, users and cases; ``script`` and ``chats`` what happens in each conversation
(backdated timelines); ``media`` draws and computes the shared files; ``board`` the whiteboard markup. This
module plays the timelines: each conversation in one transaction, so it is seeded whole or not at all, and
skipped when a conversation of that title exists (re-seeding adds nothing and keeps what users did since).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from conferencing_widgets.calls import store as call_store
from conferencing_widgets.calls.service import CALL_MESSAGE
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.model import CaseStatus, MessageKind
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.demo import board, media
from conferencing_widgets.demo.chats import all_scripts
from conferencing_widgets.demo.people import seed_people
from conferencing_widgets.demo.script import AskSignoff, Board, Call, File, Msg, Script, SignOff, Status
from conferencing_widgets.files.service import file_sha256
from conferencing_widgets.session import Session
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.store.blobs import BlobStore

__all__ = ["DemoLogins", "seed_demo"]

MEDIA_TYPES = {"photo": "image/jpeg", "manual": "application/pdf", "log": "text/csv"}


@dataclass(frozen=True, kw_only=True)
class DemoLogins:
    """Logins the demo prints links for."""

    customer: str = "alice"
    technician: str = "tom.tech"
    engineer: str = "erik.eng"


def seed_demo(store: Store, settings: Settings | None = None, *, blobs: BlobStore | None = None) -> DemoLogins:
    """Create the demo data unless it is there already (idempotent; keeps anything users added).

    Files (and the whiteboard drawn over the photo) need a blob store: ``blobs``, or the one ``settings`` name.
    Without either, the conversations are seeded without them (the unit tests' stores have no blob folder).
    """
    store.create_schema()
    now = utcnow().replace(microsecond=0)
    seed_people(store, now)
    if blobs is None and settings is not None:
        from conferencing_widgets.files.service import blob_store_for

        blobs = blob_store_for(settings)
    existing = {c.conversation.title for c in store.inbox(ReadScope(login="ada.admin", all_case_chats=True), limit=500)}
    for login in ("tom.tech", "alice"):
        existing |= {c.conversation.title for c in store.inbox(login, limit=500)}
    for script in all_scripts():
        if script.title not in existing:
            _Player(store, settings, blobs, now).play(script)
    return DemoLogins()


class _Player:
    """Plays one conversation's timeline into the store, as the people in it."""

    def __init__(self, store: Store, settings: Settings | None, blobs: BlobStore | None, now: datetime) -> None:
        self.store, self.settings, self.blobs, self.now = store, settings, blobs, now
        self.sessions: dict[str, Session] = {}
        self.posted: dict[int, int] = {}  # id(Msg) -> message id, for replies
        self.files: dict[str, int] = {}  # file name -> attachment id, for the board's background
        self.asked_by = ""  # who asked for the sign-off last

    def session(self, login: str) -> Session:
        if login not in self.sessions:
            self.sessions[login] = Session(self.settings, self.store, login, blobs=self.blobs)
        return self.sessions[login]

    def play(self, script: Script) -> None:
        case = self.store.get_case_by_number(script.case_number) if script.case_number else None
        members = list(script.others) + (list(case.technicians) if case else [])
        with self.store.atomic():
            conv = self.store.create_conversation(
                kind=script.kind,
                title=script.title,
                created_by=script.creator,
                members=members,
                case_id=case.id if case else None,
                at=self.now - script.start,
            )
            for n, (ago, item) in enumerate(script.timeline):
                at = self.now - ago
                if isinstance(item, Msg):
                    self.message(conv.id, item, at, f"demo-{conv.id}-{n}")
                elif isinstance(item, Status) and case is not None:
                    self.session(item.by).cases.set_status(case.id, item.status, at=at)
                elif isinstance(item, File) and self.blobs is not None:
                    self.file(conv.id, item, at)
                elif isinstance(item, Board) and item.background in self.files:
                    self.board(conv.id, item, at)
                elif isinstance(item, Call):
                    self.call(conv.id, item, at)
                elif isinstance(item, AskSignoff):
                    self.session(item.by).signoff.request(conv.id, item.summary, at=at)
                    self.asked_by = item.by
                elif isinstance(item, SignOff) and case is not None:
                    self.sign_off(conv.id, case.id, item, at)

    def sign_off(self, conversation_id: int, case_id: int, item: SignOff, at: datetime) -> None:
        if self.blobs is None:  # the sealed record is a file: without a blob store the staff close the case
            self.session(self.asked_by).cases.set_status(case_id, CaseStatus.CLOSED, at=at)
            return
        self.session(item.by).signoff.sign(conversation_id, name=item.name, strokes=media.signature(), at=at)

    def message(self, conversation_id: int, item: Msg, at: datetime, client_id: str) -> None:
        reply = self.posted.get(id(item.reply_to)) if item.reply_to is not None else None
        msg = self.session(item.author).chat.post(
            conversation_id,
            item.body,
            client_id=client_id,
            kind=MessageKind.NOTE if item.note else MessageKind.TEXT,
            reply_to=reply,
            at=at,
        )
        self.posted[id(item)] = msg.id
        for login, emoji in item.reactions:
            self.session(login).chat.react(msg.id, emoji)

    def file(self, conversation_id: int, item: File, at: datetime) -> None:
        data = {"photo": media.machine_photo, "manual": media.manual_pdf, "log": lambda: media.spindle_log()[0]}[
            item.what
        ]()
        with tempfile.TemporaryDirectory(prefix="cw-demo-") as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(data)
            att = self.session(item.author).files.store_file(
                conversation_id,
                name=item.name,
                path=path,
                size=len(data),
                media_type=MEDIA_TYPES[item.what],
                sha256=file_sha256(path),
                client_id=f"demo-file-{conversation_id}-{item.what}",
                at=at,
            )
        self.files[item.name] = att.id

    def board(self, conversation_id: int, item: Board, at: datetime) -> None:
        boards = self.session(item.author).boards
        created = boards.create(conversation_id, item.title, at=at)
        boards.set_background(created.id, self.files[item.background])
        for stroke in board.strokes():
            boards.add_stroke(created.id, **stroke)  # type: ignore[arg-type]

    def call(self, conversation_id: int, item: Call, at: datetime) -> None:
        provider = self.session(item.author).calls.provider
        call, _message = call_store.create_call(
            self.store,
            conversation_id=conversation_id,
            provider=provider.name,
            room=provider.new_room(),
            started_by=item.author,
            body=CALL_MESSAGE,
            join=True,
            at=at,
        )
        for k, login in enumerate(item.joined):
            call_store.join_call(self.store, call.id, login, at=at + timedelta(minutes=1 + k))
        call_store.end_call(self.store, call.id, item.author, at=at + timedelta(minutes=item.minutes))

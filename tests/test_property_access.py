"""Property-based access control: random worlds and random action sequences through the service layer.

Hypothesis generates groups, users (some disabled), service cases with assigned technicians, then runs random
sequences of actions by random users: create conversations, add members, post, read (messages, members, summary,
unread, read marks), upload and open files, start, view and join calls, start, open and draw on whiteboards, mention
members and search (exactly the readable messages, mentions only of active members), export
(``export.frames(service=...)``), signal typing, read and announce receipts, keep drafts, and an operator
disabling or re-enabling accounts. After every step it checks
that no user read or changed anything outside their rights, against a model of the rights computed here,
independently of ``policy.py``:

- members read; engineers and admins also read every service case chat; only members post (and so upload and
  start or join calls);
- a direct chat stays within one group; customers add only people of their own group, vendor staff only vendor
  people; a case chat holds only the case's company and the vendor; assigned technicians join automatically;
- customers open case chats only for their own company's cases;
- a disabled account can do nothing, and an open session of an account disabled meanwhile loses its rights;
- a refused action raises ``NotFound`` (for what the user may not even know about) or ``PermissionDenied``, and
  writes nothing (row counts of every table and the newest event id are unchanged);
- each long-lived session follows the change feed: ``Service.visible`` passes exactly the events of conversations
  the user may read now (read marks only to their owner; events without a conversation never to customers);
- the history list holds exactly the readable conversations; the export holds exactly the exportable ones.

Whiteboards are covered too: starting a board (members), opening it (readers) and drawing on it (members).
So are message actions: reacting (members, on live messages), editing (the author, while a member), deleting
(the author while a member, or an admin who reads the chat) and reading earlier versions (readers).

Internal notes: only vendor staff members of a case chat write them (anyone else is refused, nothing written); only
vendor staff who read the chat ever see them: in the stream, search, the feed and exports; a customer who reads the
chat gets ``NotFound`` for a note's id, whatever they try on it.

Typing, receipts and drafts: typing is signalled by posters and shown to readers only from posters; receipts go
out only from readers who share them and reach only readers who share theirs; drafts are kept by posters only.

Sign-off too: vendor staff who are members of a resolved case's chat ask for it; only that chat's customers sign,
while the case is resolved, which closes it and seals a new version; the sealed versions listed are only those of
chats the user reads (nobody else's case).

Case status too: vendor staff set any status of any case; a customer never does, except reopen (to waiting on
vendor) their own company's resolved case; nobody reaches another company's case (``NotFound``). Whose turn is
shown to whoever sees the case; response clocks to vendor staff only. The stored status always matches the model.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func as sa_func
from sqlalchemy import select, text

from conferencing_widgets import (
    ConferencingError,
    ConversationKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Role,
    Service,
    Settings,
    Store,
)
from conferencing_widgets.calls.service import CallService
from conferencing_widgets.cases.service import CaseService
from conferencing_widgets.chat.drafts import Drafts
from conferencing_widgets.chat.preferences import Preferences
from conferencing_widgets.chat.receipts import Receipts
from conferencing_widgets.chat.signals import Signals
from conferencing_widgets.core.model import CaseStatus, MessageKind
from conferencing_widgets.export import api as cw_export
from conferencing_widgets.files.service import FileService
from conferencing_widgets.signoff.service import SignoffService
from conferencing_widgets.store import receipts as receipts_store
from conferencing_widgets.store import schema
from conferencing_widgets.whiteboard.service import WhiteboardService

T = TypeVar("T")
VENDOR = "vendor"
STAFF_ROLES = (Role.TECHNICIAN, Role.ENGINEER, Role.ADMIN)
READ_ALL_CASE_CHATS = {Role.ENGINEER, Role.ADMIN}
GHOST = "ghost"
"""A login that does not exist."""
DISABLED = st.integers(0, 4).map(lambda n: n == 4)
"""About one account in five starts disabled (shrinks towards enabled)."""

_TEMPLATE: dict[str, Path] = {}


def template_db() -> Path:
    """An empty, migrated SQLite file, made once per test session and copied for every example (migrations are
    the slow part of a fresh store)."""
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="cw-prop-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        store = Store(f"sqlite:///{path}")
        store.create_schema()
        with store.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        store.close()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


@dataclass
class UserM:
    group: str
    role: Role
    disabled: bool

    @property
    def staff(self) -> bool:
        return self.role is not Role.CUSTOMER


@dataclass
class ConvM:
    kind: ConversationKind
    case_id: int | None
    members: set[str]
    messages: list[int] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)
    """Internal notes (vendor staff only): never in ``messages``, which everyone who reads the chat sees."""


@dataclass
class Session:
    """One open dashboard session: a long-lived ``Service`` following the feed from its own cursor."""

    service: Service
    cursor: int


class AccessMachine(RuleBasedStateMachine):
    """The world, the model of rights, and one session per user that has signed in."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="cw-prop-"))
        shutil.copyfile(template_db(), self.tmp / "store.db")
        self.store = Store(f"sqlite:///{self.tmp / 'store.db'}")
        self.settings = Settings(data_dir=self.tmp, secret="property-test-secret", posts_per_minute=100_000)
        self.users: dict[str, UserM] = {}
        self.groups: list[str] = []
        self.cases: dict[int, tuple[str, set[str]]] = {}
        self.case_status: dict[int, CaseStatus] = {}
        self.convs: dict[int, ConvM] = {}
        self.files: dict[int, int] = {}
        self.calls: dict[int, int] = {}
        self.boards: dict[int, int] = {}
        self.sessions: dict[str, Session] = {}
        self.exports = 0
        self.authors: dict[int, str] = {}
        self.deleted: set[int] = set()
        self.mentions: dict[str, set[int]] = {}
        """Message ids mentioning each login."""
        self.receipts_off: set[str] = set()
        """Logins who turned read receipts off."""
        self.signoff_asked: dict[int, int] = {}
        """Case id -> the chat its open sign-off request was made in."""
        self.signed: dict[int, list[tuple[int, int]]] = {}
        """Case id -> (version, chat) of each sealed sign-off."""

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model of rights (independent of policy.py) -------------------------------------------------

    def active(self, login: str) -> bool:
        return login in self.users and not self.users[login].disabled

    def can_read(self, login: str, cid: int) -> bool:
        if not self.active(login):
            return False
        conv = self.convs[cid]
        if login in conv.members:
            return True
        return conv.kind is ConversationKind.SERVICE_CASE and self.users[login].role in READ_ALL_CASE_CHATS

    def can_post(self, login: str, cid: int) -> bool:
        return self.active(login) and login in self.convs[cid].members

    def may_add(self, actor: str, candidate: str, case_id: int | None) -> bool:
        if candidate == actor:
            return True  # adding yourself is ignored
        if candidate not in self.users or self.users[candidate].disabled:
            return False
        if self.users[candidate].group != self.users[actor].group:
            return False
        if case_id is None:
            return True
        return self.users[candidate].group in (self.cases[case_id][0], VENDOR)

    def readable_by(self, cid: int) -> set[str]:
        return {login for login in self.users if self.can_read(login, cid)}

    def readable(self, login: str) -> set[int]:
        return {cid for cid in self.convs if self.can_read(login, cid)}

    def exportable(self, login: str) -> set[int]:
        if self.active(login) and self.users[login].role is Role.ADMIN:
            return set(self.convs)
        return self.readable(login)

    def reads_notes(self, login: str, cid: int) -> bool:
        return self.can_read(login, cid) and self.users[login].staff

    def visible_messages(self, login: str, cid: int) -> set[int]:
        conv = self.convs[cid]
        return set(conv.messages) | (set(conv.notes) if self.reads_notes(login, cid) else set())

    def denial(self, login: str, cid: int, *, write: bool) -> type[ConferencingError] | None:
        """The error a user must get for reading (or writing) conversation ``cid``; None when allowed."""
        if not self.active(login):
            return PermissionDenied
        if not self.can_read(login, cid):
            return NotFound
        if write and not self.can_post(login, cid):
            return PermissionDenied
        return None

    # -- running actions --------------------------------------------------------------------------------

    def session(self, login: str) -> Service | None:
        """The user's open session, signing in first; None when signing in is refused (disabled account)."""
        if login in self.sessions:
            return self.sessions[login].service
        if not self.active(login):
            with pytest.raises(PermissionDenied):
                Service(self.store, login, self.settings)
            return None
        svc = Service(self.store, login, self.settings)
        self.sessions[login] = Session(svc, self.store.last_event_id())
        return svc

    def attempt(
        self,
        run: Callable[[], T],
        *,
        allowed: bool,
        errors: tuple[type[ConferencingError], ...] = (NotFound, PermissionDenied),
        what: str,
    ) -> T | None:
        """Run an action; it must succeed iff ``allowed``, and a refusal must be typed and write nothing."""
        before = None if allowed else self.snapshot()
        try:
            result = run()
        except ConferencingError as exc:
            assert not allowed, f"{what}: refused although the rules allow it: {exc!r}"
            assert isinstance(exc, errors), f"{what}: refused with {type(exc).__name__}, expected one of {errors}"
            assert self.snapshot() == before, f"{what}: a refused action wrote to the store"
            return None
        assert allowed, f"{what}: allowed although the rules forbid it"
        return result

    def snapshot(self) -> tuple[Any, ...]:
        """Row counts of every table, the newest event id and the blob files, in one query: equal before and
        after means nothing was written."""
        counts = [select(sa_func.count()).select_from(t).scalar_subquery() for t in schema.metadata.sorted_tables]
        counts.append(select(sa_func.coalesce(sa_func.max(schema.events.c.id), 0)).scalar_subquery())
        with self.store.reading() as conn:
            row = tuple(conn.execute(select(*counts)).one())
        blobs = sorted(str(p.relative_to(self.tmp)) for p in (self.tmp / "blobs").rglob("*") if p.is_file())
        return row, tuple(blobs)

    # -- the world --------------------------------------------------------------------------------------

    @initialize(
        staff=st.lists(st.tuples(st.sampled_from(STAFF_ROLES), DISABLED), min_size=1, max_size=4),
        companies=st.lists(st.lists(DISABLED, min_size=1, max_size=3), min_size=1, max_size=3),
        cases=st.lists(st.tuples(st.integers(0, 2), st.sets(st.integers(0, 3), max_size=2)), max_size=3),
    )
    def build_world(
        self,
        staff: list[tuple[Role, bool]],
        companies: list[list[bool]],
        cases: list[tuple[int, set[int]]],
    ) -> None:
        store = self.store
        store.add_group(id=VENDOR, name="Vendor", is_vendor=True)
        self.groups.append(VENDOR)
        for i, (role, off) in enumerate(staff):
            self._add_user(f"v{i}", VENDOR, role, off)
        for g, people in enumerate(companies):
            gid = f"c{g}"
            store.add_group(id=gid, name=f"Company {g}")
            self.groups.append(gid)
            for i, off in enumerate(people):
                self._add_user(f"c{g}u{i}", gid, Role.CUSTOMER, off)
        for n, (g, techs) in enumerate(cases):
            gid = f"c{g % len(companies)}"
            logins = sorted({f"v{t % len(staff)}" for t in techs})
            case = store.add_case(number=f"SR-{n}", title=f"Case {n}", group_id=gid, technicians=logins)
            self.cases[case.id] = (gid, set(logins))
            self.case_status[case.id] = CaseStatus.OPEN
        for login in self.users:
            self.session(login)

    def _add_user(self, login: str, group: str, role: Role, disabled: bool) -> None:
        self.store.add_user(login=login, display_name=login.upper(), group_id=group, role=role, disabled=disabled)
        self.users[login] = UserM(group, role, disabled)

    def pick(self, data: st.DataObject, items: list[T] | set[T] | dict[T, Any], label: str) -> T:
        return data.draw(st.sampled_from(sorted(items)), label=label)

    def conversation_and_actor(self, data: st.DataObject) -> tuple[int, str]:
        """A conversation and someone acting on it: a member (so actions go through), a reader who is not a member
        (engineers and admins in case chats: the boundary between reading and posting), or anyone."""
        cid = self.pick(data, self.convs, "conversation")
        who = data.draw(st.sampled_from(["member", "reader", "anyone"]), label="who")
        members = self.convs[cid].members
        pool = {"member": members, "reader": self.readable_by(cid) - members, "anyone": set(self.users)}[who]
        return cid, self.pick(data, pool or self.users, "actor")

    # -- conversations ----------------------------------------------------------------------------------

    @rule(data=st.data(), case_chat=st.booleans(), wild=st.booleans())
    def create_conversation(self, data: st.DataObject, case_chat: bool, wild: bool) -> None:
        # Not ``wild``: people of the actor's own group and cases of the actor's company, which the rules mostly
        # allow (so the world fills with conversations); ``wild``: anyone, unknown logins and any case.
        actor = self.pick(data, self.users, "actor")
        own = self.users[actor].group
        candidates = [*self.users, GHOST] if wild else [u for u in self.users if self.users[u].group == own]
        members = data.draw(st.lists(st.sampled_from(sorted(candidates)), max_size=3, unique=True), label="members")
        case_id: int | None = None
        if case_chat:
            cases = [c for c, (g, _) in self.cases.items() if wild or own in (g, VENDOR)]
            if not cases:
                return
            case_id = self.pick(data, cases, "case")
        svc = self.session(actor)
        if svc is None:
            return
        allowed = self.active(actor) and all(self.may_add(actor, m, case_id) for m in members)
        if case_id is not None:
            case_group = self.cases[case_id][0]
            allowed = allowed and (self.users[actor].staff or self.users[actor].group == case_group)
        kind = ConversationKind.SERVICE_CASE if case_id is not None else ConversationKind.DIRECT
        conv = self.attempt(
            lambda: svc.create_conversation(kind=kind, title="Chat", members=members, case_id=case_id),
            allowed=allowed,
            what=f"{actor} creates a {kind.value} chat with {members} (case {case_id})",
        )
        if conv is None:
            return
        expected = {actor, *members}
        if case_id is not None:
            expected |= self.cases[case_id][1]  # assigned technicians join automatically
        assert set(conv.members) == expected
        self.convs[conv.id] = ConvM(kind, case_id, expected)

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def add_members(self, data: st.DataObject) -> None:
        cid, actor = self.conversation_and_actor(data)
        wild = data.draw(st.booleans(), label="wild")
        own = self.users[actor].group
        pool = [*self.users, GHOST] if wild else [u for u in self.users if self.users[u].group == own]
        picks = data.draw(st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=2), label="add")
        svc = self.session(actor)
        if svc is None:
            return
        conv = self.convs[cid]
        refusal = self.denial(actor, cid, write=True)
        allowed = refusal is None and all(self.may_add(actor, m, conv.case_id) for m in picks)
        errors = (refusal,) if refusal is not None else (NotFound, PermissionDenied)
        added = self.attempt(lambda: svc.add_members(cid, picks), allowed=allowed, errors=errors, what=f"{actor} adds")
        if added is not None:
            assert set(added) == set(picks) - conv.members - {actor}
            conv.members |= set(picks)
            assert set(self.store.members(cid)) == conv.members

    # -- messages ---------------------------------------------------------------------------------------

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def post(self, data: st.DataObject) -> None:
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        msg = self.attempt(
            lambda: svc.post(cid, f"hello from {actor}"),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} posts in {cid}",
        )
        if msg is not None:
            assert msg.conversation_id == cid and msg.author == actor
            self.convs[cid].messages.append(msg.id)
            self.authors[msg.id] = actor

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def post_note(self, data: st.DataObject) -> None:
        """Internal notes: vendor staff members of a case chat only; anyone else is refused and nothing is written."""
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        case_chat = self.convs[cid].kind is ConversationKind.SERVICE_CASE
        if refusal is None and (not self.users[actor].staff or not case_chat):
            refusal = PermissionDenied
        note = self.attempt(
            lambda: svc.post(cid, f"hello internally from {actor}", kind=MessageKind.NOTE),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} writes a note in {cid}",
        )
        if note is not None:
            assert note.kind is MessageKind.NOTE and note.conversation_id == cid
            self.convs[cid].notes.append(note.id)

    @precondition(lambda self: any(c.notes for c in self.convs.values()))
    @rule(data=st.data(), action=st.sampled_from(["read", "react", "edit", "delete", "versions", "reply", "around"]))
    def touch_note(self, data: st.DataObject, action: str) -> None:
        """Whoever may not read notes gets ``NotFound`` (or, replying, ``InvalidInput``) for a note, as for a
        message that does not exist; nothing is written. Staff readers read it."""
        cid = self.pick(data, [c for c, conv in self.convs.items() if conv.notes], "chat")
        mid = self.pick(data, self.convs[cid].notes, "note")
        actor = self.pick(data, self.users, "actor")
        svc = self.session(actor)
        if svc is None:
            return
        if self.reads_notes(actor, cid):
            if action in ("read", "versions", "around"):
                self.attempt(lambda: svc.readable_message(mid), allowed=True, what=f"{actor} reads note {mid}")
            return
        runs: dict[str, Callable[[], Any]] = {
            "read": lambda: svc.readable_message(mid),
            "react": lambda: svc.react(mid, "👍"),
            "edit": lambda: svc.edit_message(mid, f"edited by {actor}"),
            "delete": lambda: svc.delete_message(mid),
            "versions": lambda: svc.message_versions(mid),
            "reply": lambda: svc.post(cid, f"hello, a reply from {actor}", reply_to=mid),
            "around": lambda: svc.messages_around(mid),
        }
        errors: tuple[type[ConferencingError], ...] = (NotFound, PermissionDenied)
        if action == "reply":
            errors = (NotFound, PermissionDenied, InvalidInput)
        self.attempt(runs[action], allowed=False, errors=errors, what=f"{actor} does {action} on note {mid} of {cid}")

    @precondition(lambda self: self.authors)
    @rule(data=st.data(), action=st.sampled_from(["react", "edit", "delete", "versions"]))
    def act_on_message(self, data: st.DataObject, action: str) -> None:
        """React to, edit, delete or read the versions of a posted message, as a member, a reader or anyone."""
        mid = self.pick(data, self.authors, "message")
        cid = next(c for c, conv in self.convs.items() if mid in conv.messages)
        who = data.draw(st.sampled_from(["author", "other"]), label="who")
        actor = self.authors[mid] if who == "author" else self.conversation_and_actor(data)[1]
        svc = self.session(actor)
        if svc is None:
            return
        gone = mid in self.deleted
        own = self.authors[mid] == actor
        admin = self.active(actor) and self.users[actor].role is Role.ADMIN
        refusal: type[ConferencingError] | None
        if action == "versions" or (action == "delete" and gone):  # reading; deleting twice is a no-op
            refusal = self.denial(actor, cid, write=False)
        elif action == "delete":
            refusal = self.denial(actor, cid, write=True)
            if admin and self.can_read(actor, cid):
                refusal = None  # moderation: an admin deletes any message they read, member or not
            elif refusal is None and not own:
                refusal = PermissionDenied
        else:
            refusal = self.denial(actor, cid, write=True)
            if refusal is None and action == "edit" and not own:
                refusal = PermissionDenied
            if refusal is None and gone:
                refusal = InvalidInput
        runs: dict[str, Callable[[], Any]] = {
            "react": lambda: svc.react(mid, "👍"),
            "edit": lambda: svc.edit_message(mid, f"edited by {actor}"),
            "delete": lambda: svc.delete_message(mid),
            "versions": lambda: svc.message_versions(mid),
        }
        self.attempt(
            runs[action],
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} does {action} on message {mid} of {cid}",
        )
        if refusal is None and action == "delete":
            self.deleted.add(mid)
            assert self.store.get_message(mid).body == "" and not self.store.message_versions(mid)

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def post_mention(self, data: st.DataObject) -> None:
        """A mention is posted only of an active member; otherwise nothing is written (mentions or message)."""
        cid, actor = self.conversation_and_actor(data)
        target = self.pick(data, [*sorted(self.users), GHOST], "mentioned")
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        ok_target = target in self.convs[cid].members and self.active(target)
        errors: tuple[type[ConferencingError], ...] = (refusal,) if refusal else (InvalidInput,)
        msg = self.attempt(
            lambda: svc.post(cid, f"hello from {actor}, @{target}"),
            allowed=refusal is None and ok_target,
            errors=errors,
            what=f"{actor} mentions {target} in {cid}",
        )
        if msg is not None:
            self.convs[cid].messages.append(msg.id)
            self.mentions.setdefault(target, set()).add(msg.id)

    @precondition(lambda self: self.convs)
    @rule(data=st.data(), mentions_only=st.booleans())
    def search(self, data: st.DataObject, mentions_only: bool) -> None:
        """Search finds exactly the readable messages (and, with ``is:mention``, those mentioning the searcher);
        unread-mention counts never name an unreadable conversation."""
        actor = self.pick(data, self.users, "searcher")
        svc = self.session(actor)
        if svc is None:
            return
        query = "hello is:mention" if mentions_only else "hello"
        got = self.attempt(
            lambda: svc.search(query, limit=100), allowed=self.active(actor), errors=(PermissionDenied,),
            what=f"{actor} searches",
        )  # fmt: skip
        if got is None:
            return
        readable = self.readable(actor)
        expected = {m for cid in readable for m in self.visible_messages(actor, cid)}
        if mentions_only:
            expected &= self.mentions.get(actor, set())
        found = {r["message_id"] for r in got}
        assert {r["conversation_id"] for r in got} <= readable, f"{actor} found a foreign message"
        if len(expected) < 100:
            assert found == expected, f"search of {actor}"
        counts = svc.unread_mentions(list(self.convs))
        assert set(counts) <= readable & {
            c for c in self.convs if self.mentions.get(actor, set()) & set(self.convs[c].messages)
        }

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        """Every read of a conversation: all succeed and show only that conversation, or all are refused."""
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=False)
        errors = (refusal or NotFound,)
        conv = self.convs[cid]
        files, calls = FileService(svc), CallService(svc)

        def messages() -> None:
            got = svc.messages(cid, limit=1000)
            assert {m.conversation_id for m in got} <= {cid}
            assert set(conv.messages) <= {m.id for m in got}
            shown_notes = {m.id for m in got if m.kind is MessageKind.NOTE}
            assert shown_notes == (set(conv.notes) if self.reads_notes(actor, cid) else set()), f"{actor}'s notes"
            after = {m.id for m in svc.messages_after(cid, 0, limit=1000)}
            assert after & set(conv.notes) == shown_notes, f"{actor}'s notes in the live catch-up"

        checks: dict[str, Callable[[], Any]] = {
            "conversation": lambda: svc.conversation(cid),
            "messages": messages,
            "members": lambda: {u.login for u in svc.members(cid)} == conv.members or pytest.fail("members differ"),
            "summary": lambda: svc.summary(cid).conversation.id == cid or pytest.fail("wrong summary"),
            "unread": lambda: svc.unread(cid),
            "mark_read": lambda: svc.mark_read(cid),
            "files": lambda: {a.conversation_id for a in files.attachments(cid)} <= {cid} or pytest.fail("files"),
            "calls": lambda: all(c.conversation_id == cid and not c.room for c in calls.calls(cid)) or pytest.fail(),
        }
        for name, run in checks.items():
            self.attempt(run, allowed=refusal is None, errors=errors, what=f"{actor} reads {name} of {cid}")

    @precondition(lambda self: self.convs)
    @rule(data=st.data(), stop=st.booleans())
    def typing(self, data: st.DataObject, stop: bool) -> None:
        """Typing is signalled only by those who may post, and shown only to readers, only from posters."""
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        signalled = self.attempt(
            lambda: Signals(svc).signal_typing(cid) or True,
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} types in {cid}",
        )
        if stop and signalled:
            Signals(svc).stop_typing(cid)
        for observer in sorted(self.users):  # everyone who has a session looks
            osvc = self.session(observer)
            if osvc is None:
                continue
            refusal = self.denial(observer, cid, write=False)
            names = self.attempt(
                lambda osvc=osvc: Signals(osvc).typing(cid),  # type: ignore[misc]
                allowed=refusal is None,
                errors=(refusal or NotFound,),
                what=f"{observer} sees who types in {cid}",
            )
            if names is None:
                continue
            posters = {u.upper() for u in self.users if self.can_post(u, cid) and u != observer}
            assert set(names) <= posters, f"{observer} saw typing from someone who may not post in {cid}"
            if signalled and observer != actor and self.can_post(actor, cid):
                assert (actor.upper() in names) != stop, f"{observer}: {actor} typing shown wrongly (stop={stop})"

    @precondition(lambda self: self.convs)
    @rule(data=st.data(), off=st.booleans())
    def receipts(self, data: st.DataObject, off: bool) -> None:
        """Receipts are sent only by readers who share them, and seen only by readers who share theirs."""
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        if self.active(actor):
            Preferences(svc).set("receipts", "off" if off else "on")
            (self.receipts_off.add if off else self.receipts_off.discard)(actor)
        poster = next((u for u in sorted(self.convs[cid].members) if self.can_post(u, cid) and u != actor), None)
        psvc = None if poster is None else self.session(poster)
        if psvc is not None:  # a fresh message, so there is something to have seen
            msg = psvc.post(cid, f"hello, ping from {poster}")  # every modelled message says hello: search expects it
            self.convs[cid].messages.append(msg.id)
            self.authors[msg.id] = str(poster)
        latest = receipts_store.latest_message(self.store, cid)
        for reader in sorted(self.users):  # everyone with a session reads the conversation (or is refused)
            rsvc = self.session(reader)
            if rsvc is None:
                continue
            refusal = self.denial(reader, cid, write=False)
            self.attempt(
                lambda rsvc=rsvc: (rsvc.mark_read(cid), Receipts(rsvc).announce(cid, latest[0] if latest else 0)),
                allowed=refusal is None,
                errors=(refusal or NotFound,),
                what=f"{reader} reads {cid} and announces it",
            )
        for observer in sorted(self.users):  # everyone who has a session looks
            osvc = self.session(observer)
            if osvc is None:
                continue
            refusal = self.denial(observer, cid, write=False)
            seen = self.attempt(
                lambda osvc=osvc: Receipts(osvc).seen_by(cid),  # type: ignore[misc]
                allowed=refusal is None,
                errors=(refusal or NotFound,),
                what=f"{observer} sees who has seen {cid}",
            )
            if seen is None:
                continue
            if observer in self.receipts_off:
                assert seen.names == [], f"{observer} turned receipts off but sees some"
                continue
            sharing = {u.upper() for u in self.readable_by(cid) if u not in self.receipts_off and u != observer}
            if latest is not None:
                sharing.discard(latest[1].upper())  # the author's own message is not "seen" by them
            assert set(seen.names) == (sharing if latest else set()), f"{observer}'s seen-by of {cid}"

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def draft(self, data: st.DataObject) -> None:
        """Drafts are kept and read only by those who may post, and only their own."""
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        self.attempt(
            lambda: Drafts(svc).save(cid, f"draft of {actor}"),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} keeps a draft in {cid}",
        )
        got = self.attempt(
            lambda: Drafts(svc).get(cid), allowed=refusal is None, errors=(refusal or NotFound,),
            what=f"{actor} reads their draft in {cid}",
        )  # fmt: skip
        assert got in (None, f"draft of {actor}")

    # -- case status ------------------------------------------------------------------------------------

    def sees_case(self, login: str, case_id: int) -> bool:
        return case_id in self.cases and (self.users[login].staff or self.users[login].group == self.cases[case_id][0])

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), status=st.sampled_from(list(CaseStatus)), ghost=st.booleans())
    def set_case_status(self, data: st.DataObject, status: CaseStatus, ghost: bool) -> None:
        actor = self.pick(data, self.users, "actor")
        case_id = 10**6 if ghost else self.pick(data, self.cases, "case")
        svc = self.session(actor)
        if svc is None:
            return
        error: type[ConferencingError] | None = None
        if not self.active(actor):
            error = PermissionDenied
        elif not self.sees_case(actor, case_id):
            error = NotFound
        else:
            current = self.case_status[case_id]
            reopen = current is CaseStatus.RESOLVED and status is CaseStatus.WAITING_ON_VENDOR
            if not self.users[actor].staff and not reopen:
                error = PermissionDenied
            elif status is current:
                error = InvalidInput
        got = self.attempt(
            lambda: CaseService(svc).set_status(case_id, status),
            allowed=error is None,
            errors=(error or NotFound,),
            what=f"{actor} sets case {case_id} to {status.value}",
        )
        if got is not None:
            assert got.status is status
            self.case_status[case_id] = status

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def view_case(self, data: st.DataObject) -> None:
        actor = self.pick(data, self.users, "actor")
        case_id = self.pick(data, self.cases, "case")
        svc = self.session(actor)
        if svc is None:
            return
        allowed = self.active(actor) and self.sees_case(actor, case_id)
        error = PermissionDenied if not self.active(actor) else NotFound
        view = self.attempt(
            lambda: CaseService(svc).view(case_id),
            allowed=allowed,
            errors=(error,),
            what=f"{actor} views case {case_id}",
        )
        if view is not None:
            assert view.case.id == case_id and view.case.status is self.case_status[case_id]
            if not self.users[actor].staff:
                assert view.clocks.first is None and view.clocks.next is None and not view.clocks.waits

    @invariant()
    def stored_case_status_matches_the_model(self) -> None:
        for case_id, status in self.case_status.items():
            assert self.store.get_case(case_id).status is status

    # -- sign-off ---------------------------------------------------------------------------------------

    def signoff_service(self, svc: Service) -> SignoffService:
        # Not ``Session.of_service``: its post hooks (a customer's reply flips the status) are outside this model.
        return SignoffService(svc, CaseService(svc), FileService(svc))

    def case_chat_and_actor(self, data: st.DataObject) -> tuple[int, int, str] | None:
        chats = {cid for cid, c in self.convs.items() if c.case_id is not None}
        if not chats:
            return None
        cid = self.pick(data, chats, "case chat")
        who = data.draw(st.sampled_from(["member", "anyone"]), label="who")
        pool = self.convs[cid].members if who == "member" else set(self.users)
        case_id = self.convs[cid].case_id
        assert case_id is not None
        return cid, case_id, self.pick(data, pool or self.users, "actor")

    @precondition(lambda self: any(c.case_id is not None for c in self.convs.values()))
    @rule(data=st.data(), resolve_first=st.booleans())
    def ask_for_signoff(self, data: st.DataObject, resolve_first: bool) -> None:
        picked = self.case_chat_and_actor(data)
        if picked is None:
            return
        cid, case_id, actor = picked
        if resolve_first:  # a staff member asks in a chat with customers in it: the path that signs later
            both = {
                c
                for c, conv in self.convs.items()
                if conv.case_id is not None
                and any(self.users[m].staff for m in conv.members)
                and any(not self.users[m].staff for m in conv.members)
            }
            if both:
                cid = self.pick(data, both, "chat with both sides")
                case_id = self.convs[cid].case_id or case_id
            members = {m for m in self.convs[cid].members if self.users[m].staff}
            actor = self.pick(data, members or self.users, "asker")
        staff = sorted(login for login, u in self.users.items() if u.staff and not u.disabled)
        if resolve_first and staff and self.case_status[case_id] is not CaseStatus.RESOLVED:
            CaseService(self.session(staff[0]) or Service(self.store, staff[0], self.settings)).set_status(
                case_id, CaseStatus.RESOLVED
            )
            self.case_status[case_id] = CaseStatus.RESOLVED
        svc = self.session(actor)
        if svc is None:
            return
        error: type[ConferencingError] | None = self.denial(actor, cid, write=False)
        if error is None and not (
            self.users[actor].staff
            and actor in self.convs[cid].members
            and self.case_status[case_id] is CaseStatus.RESOLVED
        ):
            error = PermissionDenied
        got = self.attempt(
            lambda: self.signoff_service(svc).request(cid, f"summary by {actor}"),
            allowed=error is None,
            errors=(error or NotFound,),
            what=f"{actor} asks for sign-off in {cid}",
        )
        if got is not None:
            assert got.case_id == case_id and got.conversation_id == cid and not got.signed
            assert got.version == len(self.signed.get(case_id, [])) + 1
            self.signoff_asked[case_id] = cid

    @precondition(lambda self: self.signoff_asked)
    @rule(data=st.data(), aim=st.booleans())
    def sign_off(self, data: st.DataObject, aim: bool) -> None:
        picked = self.case_chat_and_actor(data)
        if picked is None:
            return
        cid, case_id, actor = picked
        if aim:  # a customer of the chat a request was made in: the path that signs
            case_id = self.pick(data, self.signoff_asked, "asked case")
            cid = self.signoff_asked[case_id]
            customers = {m for m in self.convs[cid].members if not self.users[m].staff}
            actor = self.pick(data, customers or self.convs[cid].members or self.users, "signer")
        svc = self.session(actor)
        if svc is None:
            return
        error: type[ConferencingError] | None = self.denial(actor, cid, write=False)
        if error is None and (
            self.users[actor].staff
            or actor not in self.convs[cid].members
            or self.case_status[case_id] is not CaseStatus.RESOLVED
        ):
            error = PermissionDenied
        if error is None and self.signoff_asked.get(case_id) != cid:
            error = InvalidInput
        got = self.attempt(
            lambda: self.signoff_service(svc).sign(cid, name=f"Name of {actor}", strokes=[[(1, 1), (30, 20)]]),
            allowed=error is None,
            errors=(error or NotFound,),
            what=f"{actor} signs off case {case_id} in {cid}",
        )
        if got is not None:
            versions = self.signed.setdefault(case_id, [])
            assert got.record.version == len(versions) + 1 and got.record.signed_by == actor
            assert got.bundle.conversation_id == got.manifest.conversation_id == cid
            versions.append((got.record.version, cid))
            del self.signoff_asked[case_id]
            self.case_status[case_id] = CaseStatus.CLOSED
            self.files[got.bundle.id] = cid
            self.files[got.manifest.id] = cid

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def list_signoffs(self, data: st.DataObject) -> None:
        actor = self.pick(data, self.users, "actor")
        case_id = self.pick(data, self.cases, "case")
        svc = self.session(actor)
        if svc is None:
            return
        allowed = self.active(actor) and self.sees_case(actor, case_id)
        got = self.attempt(
            lambda: self.signoff_service(svc).signoffs(case_id),
            allowed=allowed,
            errors=(PermissionDenied if not self.active(actor) else NotFound,),
            what=f"{actor} lists the sign-offs of case {case_id}",
        )
        if got is not None:
            expected = [(v, c) for v, c in self.signed.get(case_id, []) if self.can_read(actor, c)]
            assert [(r.version, r.conversation_id) for r in got] == expected

    # -- files ------------------------------------------------------------------------------------------

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def upload(self, data: st.DataObject) -> None:
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        att = self.attempt(
            lambda: FileService(svc).upload_bytes(cid, "notes.txt", f"notes of {actor} in {cid}\n".encode()),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} uploads into {cid}",
        )
        if att is not None:
            assert att.conversation_id == cid
            self.files[att.id] = cid

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def open_file(self, data: st.DataObject) -> None:
        actor = self.pick(data, self.users, "actor")
        aid = self.pick(data, self.files, "file")
        svc = self.session(actor)
        if svc is None:
            return
        cid = self.files[aid]
        refusal = self.denial(actor, cid, write=False)
        got = self.attempt(
            lambda: FileService(svc).read(aid),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} opens file {aid}",
        )
        if got is not None:
            att, content = got
            assert att.conversation_id == cid and content.startswith(b"notes of ")

    # -- calls ------------------------------------------------------------------------------------------

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def start_call(self, data: st.DataObject) -> None:
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        info = self.attempt(
            lambda: CallService(svc).start(cid),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} starts a call in {cid}",
        )
        if info is not None:
            assert info.call.conversation_id == cid and not info.call.room
            self.calls[info.call.id] = cid

    @precondition(lambda self: self.calls)
    @rule(data=st.data())
    def view_and_join_call(self, data: st.DataObject) -> None:
        actor = self.pick(data, self.users, "actor")
        call_id = self.pick(data, self.calls, "call")
        svc = self.session(actor)
        if svc is None:
            return
        cid = self.calls[call_id]
        calls = CallService(svc)
        refusal = self.denial(actor, cid, write=False)
        call = self.attempt(
            lambda: calls.call(call_id),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} views call {call_id}",
        )
        if call is not None:
            assert call.conversation_id == cid and not call.room  # the room name is for members' URLs only
        refusal = self.denial(actor, cid, write=True)
        self.attempt(
            lambda: calls.join(call_id),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} joins call {call_id}",
        )

    # -- whiteboards -----------------------------------------------------------------------------------

    @precondition(lambda self: self.convs)
    @rule(data=st.data())
    def start_board(self, data: st.DataObject) -> None:
        cid, actor = self.conversation_and_actor(data)
        svc = self.session(actor)
        if svc is None:
            return
        refusal = self.denial(actor, cid, write=True)
        board = self.attempt(
            lambda: WhiteboardService(svc).create(cid, "Sketch"),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} starts a whiteboard in {cid}",
        )
        if board is not None:
            assert board.conversation_id == cid
            self.boards[board.id] = cid

    @precondition(lambda self: self.boards)
    @rule(data=st.data())
    def open_and_draw(self, data: st.DataObject) -> None:
        board_id = self.pick(data, self.boards, "board")
        cid = self.boards[board_id]
        who = data.draw(st.sampled_from(["member", "reader", "anyone"]), label="who")
        pool = {"member": self.convs[cid].members, "reader": self.readable_by(cid), "anyone": set(self.users)}[who]
        actor = self.pick(data, pool or self.users, "actor")
        svc = self.session(actor)
        if svc is None:
            return
        boards = WhiteboardService(svc)
        refusal = self.denial(actor, cid, write=False)
        strokes = self.attempt(
            lambda: boards.strokes(board_id),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} opens whiteboard {board_id}",
        )
        if strokes is not None:
            assert all(s.whiteboard_id == board_id for s in strokes)
        refusal = self.denial(actor, cid, write=True)
        stroke = self.attempt(
            lambda: boards.add_stroke(board_id, "line", [0, 0, 50, 50], color="#1f1f1f", width=2.0),
            allowed=refusal is None,
            errors=(refusal or NotFound,),
            what=f"{actor} draws on whiteboard {board_id}",
        )
        if stroke is not None:
            assert stroke.whiteboard_id == board_id and stroke.author == actor

    # -- the operator -----------------------------------------------------------------------------------

    @rule(data=st.data())
    def toggle_account(self, data: st.DataObject) -> None:
        login = self.pick(data, self.users, "account")
        user = self.users[login]
        user.disabled = not user.disabled
        self.store.set_user_disabled(login, user.disabled)

    # -- export -----------------------------------------------------------------------------------------

    @precondition(lambda self: self.exports < 1 and self.convs)
    @rule(data=st.data())
    def export(self, data: st.DataObject) -> None:
        # Each export starts a reader process (about half a second): one per example.
        self.exports += 1
        actor = self.pick(data, self.users, "actor")
        svc = self.session(actor)
        if svc is None:
            return
        got = self.attempt(
            lambda: cw_export.frames(service=svc, only=["conversations", "messages", "files", "calls"]),
            allowed=self.active(actor),
            errors=(PermissionDenied,),
            what=f"{actor} exports",
        )
        if got is None:
            return
        allowed = self.exportable(actor)
        assert set(got["conversations"]["id"].astype(int)) == allowed
        for table in ("messages", "files", "calls"):
            assert set(got[table]["conversation_id"].astype(int)) <= allowed, f"{actor} exported foreign {table}"
        expected_msgs = {m for cid in allowed for m in self.convs[cid].messages}
        assert expected_msgs <= set(got["messages"]["id"].astype(int))
        all_notes = {m for conv in self.convs.values() for m in conv.notes}
        exported_notes = set(got["messages"]["id"].astype(int)) & all_notes
        staff_notes = {m for cid in allowed for m in self.convs[cid].notes} if self.users[actor].staff else set()
        assert exported_notes == staff_notes, f"{actor} exported notes {exported_notes}, expected {staff_notes}"

    # -- after every step -------------------------------------------------------------------------------

    @invariant()
    def history_shows_exactly_what_is_readable(self) -> None:
        for login, sess in self.sessions.items():
            if not self.active(login):
                with pytest.raises(PermissionDenied):
                    sess.service.history(limit=500)
                continue
            shown = {s.conversation.id for s in sess.service.history(limit=500)}
            assert shown == self.readable(login), f"history of {login}"

    @invariant()
    def feed_shows_exactly_what_is_readable(self) -> None:
        events = self.store.changes(after=min((s.cursor for s in self.sessions.values()), default=0), limit=100_000)
        for login, sess in self.sessions.items():
            mine = [e for e in events if e.id > sess.cursor]
            if not mine:
                continue
            sess.cursor = mine[-1].id
            seen = {e.id for e in sess.service.visible(mine)}
            for e in mine:
                if e.kind == "read":
                    expected = e.payload.get("login") == login and self.active(login)
                elif e.conversation_id is None:
                    if e.id in seen:  # case, user and group news: vendor staff only
                        assert self.active(login) and self.users[login].staff, f"{login} saw {e}"
                    continue
                else:
                    expected = e.conversation_id in self.convs and self.can_read(login, e.conversation_id)
                    if e.payload.get("internal") is True:  # an internal note's event: vendor staff readers only
                        expected = expected and self.users[login].staff
                assert (e.id in seen) == expected, f"{login} {'saw' if e.id in seen else 'missed'} {e}"
                if e.id in seen:
                    assert not {"room", "token", "url"} & set(e.payload), f"secret in a feed event: {e}"


AccessMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAccessProperties = AccessMachine.TestCase
TestAccessProperties = pytest.mark.timeout(600)(TestAccessProperties)

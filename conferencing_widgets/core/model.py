"""The vocabulary of the domain: frozen, keyword-only dataclasses and string enums.

Input types (``NewMessage``) are separate from stored ones (``Message``): the store assigns ids and
timestamps, clients only send what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any


class Role(str, Enum):
    """What a user is to the vendor."""

    CUSTOMER = "customer"
    TECHNICIAN = "technician"
    ENGINEER = "engineer"
    ADMIN = "admin"


class ConversationKind(str, Enum):
    """Direct chat (one group) or a chat about one service case (customer <-> vendor)."""

    DIRECT = "direct"
    SERVICE_CASE = "service_case"


class MessageKind(str, Enum):
    """What a message in the stream stands for."""

    TEXT = "text"
    FILE = "file"
    WHITEBOARD = "whiteboard"
    CALL = "call"
    SYSTEM = "system"
    NOTE = "note"
    """An internal note of vendor staff in a case chat: never shown to customers (``policy.can_read_notes``)."""


class CaseStatus(str, Enum):
    """Life cycle of a service request: open -> waiting on customer <-> waiting on vendor -> resolved -> closed.

    Revision 0010 renamed the stored values of older versions (``in_progress`` -> ``waiting_on_vendor``,
    ``waiting_for_customer`` -> ``waiting_on_customer``); ``CaseStatus("in_progress")`` still reads them, so
    old data files and scripts keep loading.
    """

    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_VENDOR = "waiting_on_vendor"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @classmethod
    def _missing_(cls, value: object) -> CaseStatus | None:
        return _LEGACY_STATUS.get(str(value))


_LEGACY_STATUS = {"in_progress": CaseStatus.WAITING_ON_VENDOR, "waiting_for_customer": CaseStatus.WAITING_ON_CUSTOMER}


class CasePriority(str, Enum):
    """How urgent a case is; each has its response-clock targets (``Settings.response_targets``)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True, kw_only=True)
class Group:
    """A customer company, or the vendor's service organisation."""

    id: str
    """Short stable key, e.g. ``acme``."""
    name: str
    """Display name of the company."""
    is_vendor: bool = False
    """True for the one vendor group."""


@dataclass(frozen=True, kw_only=True)
class User:
    """A person who can sign in."""

    login: str
    """Unique login id."""
    display_name: str
    """Name shown to others."""
    group_id: str
    """The group the user belongs to."""
    role: Role
    """Customer, technician, engineer or admin."""
    disabled: bool = False
    """Disabled users cannot sign in; their old messages stay."""

    @property
    def is_vendor_staff(self) -> bool:
        """Technicians, engineers and admins work for the vendor."""
        return self.role is not Role.CUSTOMER


@dataclass(frozen=True, kw_only=True)
class ServiceCase:
    """A service request about one machine of one customer."""

    id: int
    """Store id."""
    number: str
    """Human number such as ``SR-2026-00042``."""
    title: str
    """Short description of the problem."""
    group_id: str
    """The customer company the case belongs to."""
    machine_model: str = ""
    """Machine model, e.g. ``VMC-850``."""
    machine_serial: str = ""
    """Machine serial number."""
    status: CaseStatus = CaseStatus.OPEN
    """Where the case stands."""
    technicians: tuple[str, ...] = ()
    """Logins of the assigned vendor technicians."""
    priority: CasePriority = CasePriority.NORMAL
    """Urgency; picks the response-clock targets."""
    created_at: datetime | None = None
    """Server time the case was opened (UTC); None only for records built by hand."""

    @property
    def name(self) -> str:
        """The service request's name as tiles show it."""
        return f"{self.number} · {self.title}"


@dataclass(frozen=True, kw_only=True)
class StatusChange:
    """One status change of a service case (the response clocks pause and resume from these)."""

    id: int
    """Store id, increasing in change order."""
    case_id: int
    """The case."""
    from_status: CaseStatus
    """Status before."""
    to_status: CaseStatus
    """Status after."""
    by: str
    """Login of who changed it (the customer whose reply flipped it, for automatic changes)."""
    at: datetime
    """Server time (UTC)."""
    automatic: bool = False
    """True when a customer's reply moved *waiting on customer* to *waiting on vendor*."""


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """A chat: direct (one group) or about a service case."""

    id: int
    """Store id."""
    kind: ConversationKind
    """Direct or service case chat."""
    title: str
    """Title chosen by its creator."""
    case_id: int | None
    """The service case, required for service case chats."""
    created_by: str
    """Login of the creator."""
    created_at: datetime
    """Server time of creation (UTC)."""
    members: tuple[str, ...] = ()
    """Logins of the members."""


@dataclass(frozen=True, kw_only=True)
class NewMessage:
    """What a client sends to post a message."""

    conversation_id: int
    """Where to post."""
    body: str
    """Markdown source."""
    client_id: str | None = None
    """Client-chosen id; posting the same one twice yields one message."""
    kind: MessageKind = MessageKind.TEXT
    """Text, or a reference to a file, whiteboard or call."""
    ref_id: int | None = None
    """Id of the referenced attachment, whiteboard or call."""
    reply_to_id: int | None = None
    """The message of the same conversation this one replies to."""


@dataclass(frozen=True, kw_only=True)
class Message:
    """A stored message."""

    id: int
    """Store id, increasing in posting order."""
    conversation_id: int
    """The conversation it belongs to."""
    author: str
    """Login of the author."""
    created_at: datetime
    """Server time (UTC)."""
    body: str
    """Markdown source."""
    kind: MessageKind = MessageKind.TEXT
    """What it stands for."""
    ref_id: int | None = None
    """Referenced attachment, whiteboard or call."""
    client_id: str | None = None
    """The client id it was posted with."""
    edited_at: datetime | None = None
    """Set when the body was edited."""
    deleted: bool = False
    """True once deleted; the body is then empty."""
    reply_to_id: int | None = None
    """The message this one replies to (same conversation)."""


@dataclass(frozen=True, kw_only=True)
class MessageVersion:
    """An earlier body of an edited message."""

    message_id: int
    """The edited message."""
    body: str
    """The body as it was."""
    written_at: datetime
    """When this body was posted or last edited in."""
    replaced_at: datetime
    """When an edit replaced it."""


@dataclass(frozen=True, kw_only=True)
class Reaction:
    """One emoji on one message, with who chose it."""

    emoji: str
    """The emoji (one short grapheme cluster)."""
    logins: tuple[str, ...]
    """Who reacted with it, in reacting order."""


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file shared in a conversation; its bytes live in the blob store under ``sha256``."""

    id: int
    """Store id."""
    conversation_id: int
    """Where it was shared."""
    uploader: str
    """Login of the uploader."""
    name: str
    """Original file name, shown as text only, never used as a path."""
    media_type: str
    """Type detected from the content."""
    size: int
    """Size in bytes."""
    sha256: str
    """Content address in the blob store."""
    created_at: datetime
    """Server time (UTC)."""


@dataclass(frozen=True, kw_only=True)
class Whiteboard:
    """A shared drawing board, stored as a log of strokes."""

    id: int
    """Store id."""
    conversation_id: int
    """Where it was started."""
    title: str
    """Title."""
    created_by: str
    """Login of the starter."""
    created_at: datetime
    """Server time (UTC)."""
    background_attachment_id: int | None = None
    """An image attachment drawn under the strokes."""


@dataclass(frozen=True, kw_only=True)
class Stroke:
    """One pen stroke or shape on a whiteboard."""

    id: int
    """Store id, increasing in drawing order."""
    whiteboard_id: int
    """The board."""
    author: str
    """Login of who drew it."""
    created_at: datetime
    """Server time (UTC)."""
    shape: str
    """``pen``, ``line``, ``arrow``, ``rect``, ``ellipse`` or ``text``."""
    points: tuple[float, ...] = ()
    """Flat x, y pairs in board coordinates."""
    color: str = "#000000"
    """CSS hex colour."""
    width: float = 2.0
    """Line width in board units."""
    text: str = ""
    """The label of a ``text`` shape."""
    deleted: bool = False
    """True when erased or undone."""


@dataclass(frozen=True, kw_only=True)
class Call:
    """A video conference started from a conversation."""

    id: int
    """Store id."""
    conversation_id: int
    """Where it was started."""
    provider: str
    """Provider name, e.g. ``jitsi`` or ``builtin``."""
    room: str
    """Unguessable room name."""
    started_by: str
    """Login of the starter."""
    started_at: datetime
    """Server time (UTC)."""
    ended_at: datetime | None = None
    """Set when the call ended."""
    participants: tuple[str, ...] = ()
    """Logins of everyone who joined."""

    @property
    def live(self) -> bool:
        """True until the call ends."""
        return self.ended_at is None

    @property
    def duration(self) -> timedelta | None:
        """How long the call lasted, once it ended."""
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True, kw_only=True)
class ReadMark:
    """How far a user has read a conversation; unread counts are computed on the server."""

    login: str
    """The reader."""
    conversation_id: int
    """The conversation."""
    last_read_id: int
    """Id of the last message read."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """One entry of the append-only change feed."""

    id: int
    """Monotonic id; readers follow the feed from their last seen id."""
    kind: str
    """``message``, ``conversation``, ``members``, ``read``, ``case``, ``stroke``, ..."""
    conversation_id: int | None
    """The conversation the change concerns, if any."""
    ref_id: int | None
    """Id of the changed record."""
    created_at: datetime
    """Server time (UTC)."""
    payload: dict[str, Any] = field(default_factory=dict)
    """Small extra data (never secrets)."""


@dataclass(frozen=True, kw_only=True)
class ConversationSummary:
    """One row of a user's history: a conversation with its last message and unread count."""

    conversation: Conversation
    """The conversation."""
    case: ServiceCase | None
    """Its service case, for case chats."""
    last_message: Message | None
    """The newest message, if any."""
    last_author_name: str
    """Display name of the last message's author."""
    unread: int
    """Unread messages for the user, capped at ``UNREAD_CAP``."""
    last_activity_at: datetime
    """When anything was last posted (creation time when empty)."""


UNREAD_CAP = 100
"""Unread counts stop counting here; the UI shows ``99+``."""

"""conferencing_widgets: chat, whiteboards, files and video calls for service cases, in Jupyter."""

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.errors import (
    ConferencingError,
    InvalidInput,
    InvalidLink,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    StorageError,
)
from conferencing_widgets.core.model import (
    Attachment,
    Call,
    CasePriority,
    CaseStatus,
    Conversation,
    ConversationKind,
    ConversationSummary,
    Event,
    Group,
    Message,
    MessageKind,
    NewMessage,
    ReadMark,
    Role,
    ServiceCase,
    StatusChange,
    Stroke,
    User,
    Whiteboard,
)
from conferencing_widgets.store import ChangeFeed, Store

__version__ = "0.1.0"

__all__ = [
    "Attachment",
    "Call",
    "CasePriority",
    "CaseStatus",
    "ChangeFeed",
    "ConferencingError",
    "Conversation",
    "ConversationKind",
    "ConversationSummary",
    "Event",
    "Group",
    "InvalidInput",
    "InvalidLink",
    "LimitExceeded",
    "Message",
    "MessageKind",
    "NewMessage",
    "NotFound",
    "PermissionDenied",
    "ReadMark",
    "Role",
    "Service",
    "ServiceCase",
    "Settings",
    "StatusChange",
    "StorageError",
    "Store",
    "Stroke",
    "User",
    "Whiteboard",
    "__version__",
    "load_settings",
]

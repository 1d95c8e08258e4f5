"""conferencing_widgets: chat, whiteboards, files and video calls for service cases, in Jupyter."""

from .config import Settings, load_settings
from .errors import (
    ConferencingError,
    InvalidInput,
    InvalidLink,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    StorageError,
)
from .model import (
    Attachment,
    Call,
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
    Stroke,
    User,
    Whiteboard,
)
from .service import Service
from .store import ChangeFeed, Store

__version__ = "0.1.0"

__all__ = [
    "Attachment",
    "Call",
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
    "StorageError",
    "Store",
    "Stroke",
    "User",
    "Whiteboard",
    "__version__",
    "load_settings",
]

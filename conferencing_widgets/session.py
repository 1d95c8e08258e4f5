"""The one wiring point: a signed-in user's services, built once per page or notebook.

``Session(settings, store, login)`` gives ``.chat`` (conversations and messages), ``.files``, ``.boards``,
``.calls``, ``.cases`` (status, whose turn, response clocks), ``.signoff`` (sign-off, sealed bundles),
``.signals`` (typing, presence), ``.drafts``, ``.receipts`` ("seen by") and ``.preferences``.
The UI, the CLI, the notebooks and the tests reach every feature through it; nothing is looked up in process-wide
registries.
"""

from __future__ import annotations

from conferencing_widgets.calls.service import CallService
from conferencing_widgets.cases.service import CaseService
from conferencing_widgets.chat.drafts import Drafts
from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.chat.preferences import Preferences
from conferencing_widgets.chat.receipts import Receipts
from conferencing_widgets.chat.service import Service
from conferencing_widgets.chat.signals import Signals
from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.model import User
from conferencing_widgets.files.service import FileService
from conferencing_widgets.signoff.service import SignoffService
from conferencing_widgets.store import Store
from conferencing_widgets.store.blobs import BlobStore
from conferencing_widgets.whiteboard.service import WhiteboardService


class Session:
    """Everything one user may do. Cheap to build; share the ``Store`` between sessions."""

    def __init__(self, settings: Settings | None, store: Store, login: str, *, blobs: BlobStore | None = None) -> None:
        self._wire(Service(store, login, settings), blobs)

    @classmethod
    def of_service(cls, chat: Service, *, blobs: BlobStore | None = None) -> Session:
        """A session around an existing chat service (its user and settings)."""
        session = cls.__new__(cls)
        session._wire(chat, blobs)
        return session

    def _wire(self, chat: Service, blobs: BlobStore | None) -> None:
        self.chat = chat
        self.settings = chat.settings
        self.files = FileService(chat, blobs)
        self.boards = WhiteboardService(chat, self.files)
        self.calls = CallService(chat)
        self.preferences = Preferences(chat)
        self.cases = CaseService(chat)
        # A customer's reply hands a case waiting on them back to the vendor; chat itself knows no feature.
        chat.post_hooks["cases"] = self.cases.after_post
        self.signoff = SignoffService(chat, self.cases, self.files)
        """The customer's sign-off of a resolved case and its sealed record bundle (``signoff/``)."""
        self.signals = Signals(chat)
        """Ephemeral typing and presence (``chat/signals.py``): never stored as events, expire on their own."""
        self.drafts = Drafts(chat)
        """Unsent text per conversation (``chat/drafts.py``), cleared when the user posts there."""
        chat.post_hooks["drafts"] = self.drafts.after_post
        self.receipts = Receipts(chat, self.preferences)
        """ "Seen by" from the read marks, with the ``receipts`` opt-out (``chat/receipts.py``)."""

    @classmethod
    def open(cls, login: str, *, settings: Settings | None = None, store: Store | None = None) -> Session:
        """The session of ``login`` on the configured store (``settings`` default: the environment's)."""
        settings = settings or load_settings()
        return cls(settings, store or Store(settings.store_url), login)

    @property
    def login(self) -> str:
        """The signed-in user's login."""
        return self.chat.login

    @property
    def user(self) -> User:
        """The signed-in user."""
        return self.chat.user

    def events(self) -> VisibleEvents:
        """The change feed as this user sees it (close it when done)."""
        return VisibleEvents(self.chat)

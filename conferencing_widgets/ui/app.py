"""The three-area app for one signed-in user, following the store's change feed live.

Every open app (one per Voila kernel or notebook) follows the events table from its last seen id and
re-reads only what an event touches. Widgets change only on real changes, so idle kernels stay idle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import MESSAGE_CHANGE_EVENTS
from conferencing_widgets.core.identity import jupyterhub_login
from conferencing_widgets.core.model import Conversation, Event
from conferencing_widgets.session import Session
from conferencing_widgets.ui.a11y import PageAccessibility
from conferencing_widgets.ui.calls import feature as calls_feature
from conferencing_widgets.ui.cases import feature as cases_feature
from conferencing_widgets.ui.coalesce import Coalescer
from conferencing_widgets.ui.connection import ConnectionBanner
from conferencing_widgets.ui.details import DetailsArea
from conferencing_widgets.ui.files import feature as files_feature
from conferencing_widgets.ui.history import HistoryArea
from conferencing_widgets.ui.language import LanguageSwitch
from conferencing_widgets.ui.live import FeedFollower, FollowsFeed
from conferencing_widgets.ui.messages import MessagesArea
from conferencing_widgets.ui.style import app_style
from conferencing_widgets.ui.templates import render
from conferencing_widgets.ui.whiteboard import feature as whiteboard_feature

if TYPE_CHECKING:
    from conferencing_widgets.store import Store

log = logging.getLogger(__name__)

EventHook = Callable[["ConferencingApp", list[Event]], None]
HISTORY_EVENTS = frozenset({"message", "conversation", "members", "read", "message_edited", "message_deleted"})
"""Event kinds that change what the history tiles show (order, previews, unread counts)."""


class ConferencingApp(FollowsFeed, w.VBox):
    """History, Messages and Details for one user. Build with ``for_user`` or from a ``Session``.

    A chat ``Service`` is accepted too: the app wires a ``Session`` around it.
    """

    def __init__(self, session: Session | Service, *, live: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session if isinstance(session, Session) else Session.of_service(session)
        self.service = service = self.session.chat
        self.add_class("cw-app")
        self.live = FeedFollower(self.session.events(), self.apply_events, name="conferencing app")
        self._later: Coalescer[Event] = Coalescer(self._apply_around)
        self._hooks: list[EventHook] = []
        self._open_hooks: list[Callable[[int], None]] = []
        me = service.user
        group = service.group(me.group_id).name
        self.topbar = w.HTML(render("templates/topbar.html.j2", name=me.display_name, group=group))
        self.language = LanguageSwitch(self.session.preferences)
        self.history = HistoryArea(service)
        self.messages = MessagesArea(service)
        self.details = DetailsArea(service)
        areas = w.Box([self.history, self.messages, self.details])
        areas.add_class("cw-areas")
        self.accessibility = PageAccessibility()
        # Rows rendered before the browser reported its time zone are drawn again in it.
        self.accessibility.observe(lambda _c: self._redraw_times(), names="timezone")
        top = w.HBox(
            [self.topbar, self.language], layout=w.Layout(justify_content="space-between", align_items="center")
        )
        top.add_class("cw-top")
        self.connection = ConnectionBanner()
        """The "Reconnecting…" banner and the "session ended" prompt (issue 16); keeps the conversation in the URL."""
        self.children = [app_style(), self.accessibility, top, self.connection, areas]
        self.history.on_open(self.open_conversation)
        self.history.search.on_open(self.open_message)
        self.history.dialog.on_created(self._on_created)
        self.messages.on_sent(self._sent)
        # The features, in this order: the calls feature's list goes into the files feature's Media section.
        self.whiteboards = whiteboard_feature.install(self)
        self.video = calls_feature.install(self)
        self.files = files_feature.install(self, calls_html=self.video.calls_html)
        self.cases = cases_feature.install(self)
        if live:
            self.start_live()

    @classmethod
    def for_user(
        cls,
        login: str | None = None,
        *,
        store: Store | None = None,
        settings: Settings | None = None,
        live: bool = True,
    ) -> ConferencingApp:
        """The app for ``login`` (default: the JupyterHub user), on the configured store."""
        login = login or jupyterhub_login()
        if not login:
            raise ConferencingError("No user given and JUPYTERHUB_USER is not set: pass a login.")
        return cls(Session.open(login, settings=settings, store=store), live=live)

    # -- navigation ----------------------------------------------------------------------------------

    @property
    def conversation(self) -> Conversation | None:
        """The open conversation."""
        return self.messages.conversation

    def open_message(self, conversation_id: int, message_id: int) -> None:
        """Open a conversation around one of its messages (a search result), highlighted."""
        self.open_conversation(conversation_id, focus=message_id)

    def open_conversation(self, conversation_id: int, *, focus: int | None = None) -> None:
        """Open a conversation in areas 2 and 3 and mark it read (``focus``: around that message)."""
        self.messages.show(conversation_id, focus=focus)
        if self.messages.conversation is None or self.messages.conversation.id != conversation_id:
            return
        self.details.show(conversation_id)
        self.history.direct.selected = self.history.cases.selected = conversation_id
        self.history.refresh()
        self.connection.conversation_id = conversation_id
        self.accessibility.conversation_opened()
        for hook in self._open_hooks:
            hook(conversation_id)

    def add_open_hook(self, hook: Callable[[int], None]) -> None:
        """Let a feature react when a conversation opens in areas 2 and 3."""
        self._open_hooks.append(hook)

    def _redraw_times(self) -> None:
        if self.conversation is not None:
            self.details.show(self.conversation.id)

    def _on_created(self, conversation: Conversation) -> None:
        self.history.refresh()
        self.history.open_conversation(conversation.id)

    # -- live updates --------------------------------------------------------------------------------

    def add_event_hook(self, hook: EventHook) -> None:
        """Let a feature react to the visible events of each batch."""
        self._hooks.append(hook)

    def apply_events(self, events: list[Event]) -> None:
        """Update the areas for a batch of feed events (only those this user may see). The open stream changes at
        once; the history, the details and the features follow a moment later, once per burst, while the page is
        live (``Coalescer``), and at once otherwise."""
        visible = self.service.visible(events)
        if not visible:
            return
        open_id = self.conversation.id if self.conversation else None
        if open_id is not None and any(e.kind == "message" and e.conversation_id == open_id for e in visible):
            self.messages.catch_up()
        changed = [
            e.ref_id
            for e in visible
            if e.kind in MESSAGE_CHANGE_EVENTS and e.conversation_id == open_id and e.ref_id is not None
        ]
        if changed:
            self.messages.refresh_rows(changed)
        self._later.add(visible, defer=self.live.running)

    def _apply_around(self, visible: list[Event]) -> None:
        """What a batch changes besides the open stream: tiles, the open conversation's members, the features."""
        # Read what the stream showed first, so the tiles' unread counts below include it: this page's own read
        # mark wakes no page of this kernel (``Store.origin_for``), so no later batch would correct them.
        self.messages.read_marks.later.flush()
        open_id = self.conversation.id if self.conversation else None
        if open_id is not None and any(e.conversation_id == open_id and e.kind == "members" for e in visible):
            self.details.show(open_id)
        if any(e.kind in HISTORY_EVENTS for e in visible):
            self.history.refresh()
        for hook in self._hooks:
            try:
                hook(self, visible)
            except Exception:  # noqa: BLE001 - one failing feature never stops the others
                log.exception("event hook failed")

    def _sent(self, _message: object) -> None:
        # A live page's tiles follow the post's own feed event a moment later (once per burst); refreshing them
        # here as well would keep the sender's kernel busy before it acknowledges the send.
        if not self.live.running:
            self.history.refresh()

    def refresh(self) -> int:
        """Apply everything new in the feed now, including what waited for a quiet moment."""
        count = super().refresh()
        self._later.flush()
        self.messages.read_marks.later.flush()
        return count

    def start_live(self) -> None:
        """Follow the feed, and the open conversation's typing signals, in the kernel's event loop."""
        super().start_live()
        self.messages.start_signals()

    def stop_live(self) -> None:
        """Stop following the feed and the signals (safe on a half-built page)."""
        super().stop_live()
        later = self.__dict__.get("_later")
        if isinstance(later, Coalescer):
            later.cancel()
        messages = self.__dict__.get("messages")
        if isinstance(messages, MessagesArea):
            messages.stop_signals()
            messages.read_marks.later.cancel()

    def close(self) -> None:
        """Stop following and close the widgets."""
        self.stop_live()
        super().close()

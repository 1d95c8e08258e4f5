"""The store: every record and the append-only events table, on SQLite or PostgreSQL.

``Store`` is composed of one layer of queries per record family, each in its own module: ``base`` (engine,
transactions, writing events), ``changes`` (reading events, the feeds), ``directory`` (groups, users, cases),
``conversations``, ``messages`` (with read marks), ``inbox`` (unread counts and the history list), ``edits``
(edits, deletions, versions), ``reactions``, ``signals`` (ephemeral typing/presence), ``search`` (full-text search)
and ``mentions``. Feature records (files, whiteboards, calls) have their queries in their feature's ``store.py``,
as functions taking a ``Store``.
"""

from __future__ import annotations

from conferencing_widgets.store.base import EVENT_LOCK_KEY, NOTIFY_CHANNEL, utcnow
from conferencing_widgets.store.edits import EditQueries
from conferencing_widgets.store.inbox import InboxQueries
from conferencing_widgets.store.mentions import MentionQueries
from conferencing_widgets.store.reactions import ReactionQueries
from conferencing_widgets.store.search import SearchQueries
from conferencing_widgets.store.signals import SignalQueries


class Store(EditQueries, InboxQueries, ReactionQueries, SignalQueries, MentionQueries, SearchQueries):
    """Persistence for one store URL. Thread-safe; share one per process."""


__all__ = ["EVENT_LOCK_KEY", "NOTIFY_CHANNEL", "Store", "utcnow"]

"""The store: every record and the append-only events table, on SQLite or PostgreSQL.

``Store`` is composed of one layer of queries per record family, each in its own module:
``base`` (engine, transactions, events), ``directory`` (groups, users, cases), ``conversations`` and ``messages``
(with read marks and the inbox),
``search`` (full-text search) and ``mentions``. Feature records (files, whiteboards, calls) have their queries in their
feature's ``store.py``, as functions taking a ``Store``.
"""

from __future__ import annotations

from conferencing_widgets.store.base import EVENT_LOCK_KEY, NOTIFY_CHANNEL, utcnow
from conferencing_widgets.store.mentions import MentionQueries
from conferencing_widgets.store.messages import MessageQueries
from conferencing_widgets.store.search import SearchQueries


class Store(MentionQueries, SearchQueries, MessageQueries):
    """Persistence for one store URL. Thread-safe; share one per process."""


__all__ = ["EVENT_LOCK_KEY", "NOTIFY_CHANNEL", "Store", "utcnow"]

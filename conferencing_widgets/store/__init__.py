"""Persistence: the SQL store, its change feed and the blob store."""

from conferencing_widgets.store.feed import ChangeFeed
from conferencing_widgets.store.store import Store, utcnow

__all__ = ["ChangeFeed", "Store", "utcnow"]

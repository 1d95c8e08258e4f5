"""Persistence: the SQL store, its change feed and the blob store."""

from .feed import ChangeFeed
from .store import Store, utcnow

__all__ = ["ChangeFeed", "Store", "utcnow"]

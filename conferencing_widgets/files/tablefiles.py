"""Table files in the blob store: their cached previews and their full read as a DataFrame.

No rights are checked here: the file service checks them before it calls in.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

from cachetools import LRUCache

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import LimitExceeded
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment
from conferencing_widgets.files.names import human_size
from conferencing_widgets.files.tables import (
    PREVIEW_BYTES,
    ChunkReader,
    TablePreview,
    TableUnreadable,
    preview_table,
    read_frame,
)
from conferencing_widgets.store.blobs import BlobStore

if TYPE_CHECKING:
    import pandas as pd

CACHED_TABLE_PREVIEWS = 64
"""Table previews one process keeps (by content hash; each holds 200 rows and a small PNG)."""

# By blob SHA-256: a preview is a pure function of the bytes, so one cache serves every user of the process
# (their rights are checked before it is consulted). Opening the same log again in Details costs nothing.
_PREVIEWS: LRUCache[str, TablePreview] = LRUCache(maxsize=CACHED_TABLE_PREVIEWS)
_LOCK = threading.Lock()  # cachetools caches are not thread-safe


def cached_preview(blobs: BlobStore, att: Attachment) -> TablePreview:
    """The table preview of an attachment's content, computed once per content hash and process."""
    with _LOCK:
        cached = _PREVIEWS.get(att.sha256)
    if cached is None:
        head = blobs.read(att.sha256, length=PREVIEW_BYTES)
        cached = preview_table(head, name=att.name, complete=len(head) >= att.size)
        with _LOCK:
            _PREVIEWS[att.sha256] = cached
    return cached


def read_table_file(blobs: BlobStore, settings: Settings, att: Attachment) -> pd.DataFrame:
    """The whole table file as a DataFrame, within ``table_max_bytes`` and ``table_max_rows``."""
    limit = settings.table_max_bytes
    if att.size > limit:
        raise LimitExceeded(
            _(
                "{name} is {size}; files over {limit} are not read as a table here (CONFERENCING_TABLE_MAX_BYTES). "
                "Download the file instead."
            ).format(name=att.name, size=human_size(att.size), limit=human_size(limit))
        )
    preview = cached_preview(blobs, att)
    if preview.problem is not None:
        raise TableUnreadable(att.name, preview.problem)
    with io.BufferedReader(ChunkReader(blobs.iter_chunks(att.sha256))) as stream:
        return read_frame(stream, preview, name=att.name, max_rows=settings.table_max_rows)


__all__ = ["CACHED_TABLE_PREVIEWS", "cached_preview", "read_table_file"]

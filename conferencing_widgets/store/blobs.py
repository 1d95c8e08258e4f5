"""File content, addressed by SHA-256: a local folder by default, any fsspec URL (S3, GCS, Azure) for deployments.

Keys are derived from the content hash only (``ab/cd/abcd...``), never from a user's file name, so a hostile
name can never reach a file system. Writing is two-step so a failed upload leaves nothing behind:

1. ``stage(local_file)`` copies (or, for a local store, renames) the spooled upload to ``tmp/<random>``;
2. ``finalise(staged)`` moves it to its content address (or drops it when that content is already stored).

The metadata transaction (``store/attachments.py``) runs ``finalise`` as its last step before commit, and
``discard`` / ``delete`` undo what was written when anything fails. The blob store knows nothing about the
database: "delete only if no attachment references it" lives in ``attachments.delete_blob_if_unreferenced``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from conferencing_widgets.core.errors import InvalidInput, NotFound, StorageError
from conferencing_widgets.core.i18n import _

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TMP_DIR = "tmp"
SPOOL_DIR = "spool"
THUMB_DIR = "thumbs"
READ_CHUNK = 4 * 1024 * 1024


def check_sha256(sha256: str) -> str:
    """The hash if it is 64 lower-case hex digits; ``InvalidInput`` otherwise (keys never carry other text)."""
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
        raise InvalidInput(_("Not a SHA-256 content address: {sha256!r}.").format(sha256=sha256))
    return sha256


@dataclass(frozen=True, kw_only=True)
class StagedBlob:
    """Content written under a temporary key, waiting for ``finalise`` or ``discard``."""

    sha256: str
    """The content hash it will be stored under."""
    tmp_key: str
    """Temporary key (random, never derived from the user's file name)."""


def _storage_error(action: str, exc: BaseException) -> StorageError:
    # The user reads a plain sentence; the blob store's URL, path and error go to the log under the same ref.
    return StorageError(
        "The file store is not available right now. Nothing was saved; try again later.",
        detail=f"the file store failed while {action} (check CONFERENCING_BLOB_URL, free space, permissions): {exc}",
    )


class BlobStore:
    """Content-addressed blobs under a folder or an fsspec URL (``memory://``, ``s3://bucket/prefix`` ...)."""

    def __init__(self, location: str | os.PathLike[str], *, spool_dir: str | os.PathLike[str] | None = None) -> None:
        import fsspec

        loc = str(location)
        if not loc:
            raise InvalidInput(_("The blob store location is empty: set CONFERENCING_BLOB_URL or the data folder."))
        self.location = loc
        self.is_local = "://" not in loc or loc.startswith("file://")
        try:
            if self.is_local:
                root = Path(loc.removeprefix("file://")).expanduser().resolve()
                self.fs: Any = fsspec.filesystem("file")
                self.root = str(root)
            else:
                self.fs, self.root = fsspec.core.url_to_fs(loc)
                self.root = self.root.rstrip("/")
        except (ImportError, ValueError) as exc:
            raise InvalidInput(
                _("Cannot open blob store {loc!r}: {exc}. Install the fsspec backend it needs.").format(
                    loc=loc, exc=exc
                )
            ) from exc
        # Uploads are spooled to a local file while they arrive; a local store spools inside itself, so staging
        # is a rename on the same file system.
        if spool_dir is not None:
            self.spool_dir = Path(spool_dir)
        elif self.is_local:
            self.spool_dir = Path(self.root) / SPOOL_DIR
        else:
            self.spool_dir = Path(tempfile.gettempdir()) / "conferencing-uploads"

    def __repr__(self) -> str:
        return f"BlobStore({self.location!r})"

    # -- keys ------------------------------------------------------------------------------------------

    def key(self, sha256: str) -> str:
        """Where content lives: ``root/ab/cd/<sha256>``."""
        sha = check_sha256(sha256)
        return f"{self.root}/{sha[:2]}/{sha[2:4]}/{sha}"

    def thumb_key(self, sha256: str, size: int) -> str:
        """Where a derived thumbnail of the content lives."""
        sha = check_sha256(sha256)
        return f"{self.root}/{THUMB_DIR}/{sha[:2]}/{sha}-{int(size)}"

    def _parent(self, key: str) -> str:
        return key.rsplit("/", 1)[0]

    def _makedirs(self, key: str) -> None:
        if self.is_local:
            os.makedirs(self._parent(key), exist_ok=True)
        else:
            # Object stores have no folders; memory:// and friends accept this as a no-op when they do.
            with contextlib.suppress(FileExistsError, NotImplementedError):
                self.fs.makedirs(self._parent(key), exist_ok=True)

    # -- spooling (local temporary files while an upload arrives) ---------------------------------------

    def new_spool_file(self) -> tuple[Path, IO[bytes]]:
        """A fresh local temporary file for an arriving upload (random name, never the user's)."""
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self.spool_dir)
            return Path(name), os.fdopen(fd, "wb")
        except OSError as exc:
            raise _storage_error("creating a temporary file", exc) from exc

    # -- writing ---------------------------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        """Whether content with this hash is stored."""
        try:
            return bool(self.fs.exists(self.key(sha256)))
        except OSError as exc:
            raise _storage_error("looking up a file", exc) from exc

    def stage(self, local_file: str | os.PathLike[str], sha256: str) -> StagedBlob:
        """Put a local file under a temporary key. The local file is moved (local store) or copied (remote).

        Content that is stored already is staged too: the copy is dropped by ``finalise``, and meanwhile a
        concurrent cleanup of the stored blob can never leave this upload without its bytes.
        """
        check_sha256(sha256)
        tmp_key = f"{self.root}/{TMP_DIR}/{uuid.uuid4().hex}.blob"
        try:
            self._makedirs(tmp_key)
            if self.is_local:
                try:
                    os.replace(local_file, tmp_key)
                except OSError:  # another device: copy instead
                    shutil.copyfile(local_file, tmp_key)
            else:
                self.fs.put_file(str(local_file), tmp_key)
        except Exception as exc:  # noqa: BLE001 - every backend raises its own types
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp_key)
            raise _storage_error("storing the file", exc) from exc
        return StagedBlob(sha256=sha256, tmp_key=tmp_key)

    def finalise(self, staged: StagedBlob) -> bool:
        """Move staged content to its content address; True when this call created the stored blob."""
        final = self.key(staged.sha256)
        try:
            if self.fs.exists(final):
                self.discard(staged)  # same content arrived meanwhile: keep the one already stored
                return False
            self._makedirs(final)
            if self.is_local:
                os.replace(staged.tmp_key, final)
            else:
                self.fs.mv(staged.tmp_key, final)
        except Exception as exc:  # noqa: BLE001
            raise _storage_error("storing the file", exc) from exc
        return True

    def discard(self, staged: StagedBlob) -> None:
        """Remove a staged temporary object (after a failure). Never raises."""
        with contextlib.suppress(Exception):
            if self.fs.exists(staged.tmp_key):
                self.fs.rm_file(staged.tmp_key)

    def put_bytes(self, data: bytes) -> str:
        """Store bytes directly (tests, imports); returns their hash. Not for uploads: use stage/finalise."""
        import hashlib

        sha = hashlib.sha256(data).hexdigest()
        path, fh = self.new_spool_file()
        try:
            with fh:
                fh.write(data)
            self.finalise(self.stage(path, sha))
        finally:
            path.unlink(missing_ok=True)
        return sha

    def delete(self, sha256: str) -> None:
        """Delete content and its thumbnails. Callers make sure nothing references it."""
        try:
            key = self.key(sha256)
            if self.fs.exists(key):
                self.fs.rm_file(key)
            for thumb in self.fs.glob(f"{self.root}/{THUMB_DIR}/{sha256[:2]}/{sha256}-*"):
                self.fs.rm_file(thumb)
        except (OSError, FileNotFoundError) as exc:
            raise _storage_error("deleting a file", exc) from exc

    # -- reading ---------------------------------------------------------------------------------------

    def size(self, sha256: str) -> int:
        """Stored size in bytes."""
        try:
            return int(self.fs.size(self.key(sha256)))
        except FileNotFoundError as exc:
            raise NotFound(_("The file's content is missing from the blob store.")) from exc
        except OSError as exc:
            raise _storage_error("reading a file", exc) from exc

    def read(self, sha256: str, *, start: int = 0, length: int | None = None) -> bytes:
        """All content, or ``length`` bytes from ``start``."""
        key = self.key(sha256)
        try:
            end = None if length is None else start + max(0, int(length))
            if start == 0 and end is None:
                return bytes(self.fs.cat_file(key))
            return bytes(self.fs.cat_file(key, start=start, end=end))
        except FileNotFoundError as exc:
            raise NotFound(_("The file's content is missing from the blob store.")) from exc
        except OSError as exc:
            raise _storage_error("reading a file", exc) from exc

    def iter_chunks(self, sha256: str, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The content in chunks, for streaming to a browser without holding it all twice."""
        key = self.key(sha256)
        try:
            with self.fs.open(key, "rb") as fh:
                while chunk := fh.read(chunk_size):
                    yield chunk
        except FileNotFoundError as exc:
            raise NotFound(_("The file's content is missing from the blob store.")) from exc
        except OSError as exc:
            raise _storage_error("reading a file", exc) from exc

    def read_thumb(self, sha256: str, size: int) -> bytes | None:
        """A stored thumbnail, or None."""
        try:
            return bytes(self.fs.cat_file(self.thumb_key(sha256, size)))
        except (FileNotFoundError, OSError):
            return None

    def write_thumb(self, sha256: str, size: int, data: bytes) -> None:
        """Store a derived thumbnail (best effort: a failure only means it is computed again)."""
        key = self.thumb_key(sha256, size)
        with contextlib.suppress(Exception):
            self._makedirs(key)
            tmp = f"{key}.{uuid.uuid4().hex}.tmp"
            self.fs.pipe_file(tmp, data)
            if self.is_local:
                os.replace(tmp, key)
            else:
                self.fs.mv(tmp, key)

    # -- housekeeping ----------------------------------------------------------------------------------

    def stored_hashes(self) -> list[str]:
        """Every content hash stored (for sweeps and tests)."""
        try:
            found = self.fs.glob(f"{self.root}/??/??/*")
        except FileNotFoundError:
            return []
        return sorted(p.rsplit("/", 1)[-1] for p in found if SHA256_RE.match(p.rsplit("/", 1)[-1]))

    def temporary_keys(self) -> list[str]:
        """Staged objects not finalised (a crash mid-upload leaves these; ``sweep_temporary`` removes them)."""
        try:
            return sorted(self.fs.glob(f"{self.root}/{TMP_DIR}/*"))
        except FileNotFoundError:
            return []

    def sweep_temporary(self, older_than_s: float = 6 * 3600.0) -> int:
        """Remove staged objects and spool files older than ``older_than_s`` seconds; returns how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        if self.spool_dir.is_dir():
            for path in self.spool_dir.glob("upload-*.part"):
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        for key in self.temporary_keys():
            try:
                info = self.fs.info(key)
                mtime = info.get("mtime") or info.get("created") or info.get("LastModified")
                stamp = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime or 0)
                if stamp < cutoff:
                    self.fs.rm_file(key)
                    removed += 1
            except (OSError, TypeError, ValueError):
                continue
        return removed

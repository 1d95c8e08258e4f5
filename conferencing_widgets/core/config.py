"""Settings: ``CONFERENCING_*`` environment variables over an optional TOML file over defaults."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from conferencing_widgets.core.errors import InvalidInput

ENV_PREFIX = "CONFERENCING_"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting of the kit. Each field maps to ``CONFERENCING_<NAME>`` (upper case)."""

    data_dir: Path = field(default_factory=lambda: Path("data"))
    """Folder for the embedded SQLite store, blobs and the generated secret."""
    store: str = ""
    """Store URL (``sqlite:///...`` or ``postgresql+psycopg://...``); default SQLite in ``data_dir``."""
    secret: str = ""
    """Key that signs dashboard links. Required to issue or check links."""
    blob_url: str = ""
    """Blob store: a folder or any fsspec URL; default ``data_dir/blobs``."""
    base_url: str = "http://127.0.0.1:8866"
    """Public base URL of the Voila server, used in printed links."""
    link_ttl: str = "7d"
    """Default lifetime of a dashboard link (``30m``, ``12h``, ``7d``)."""
    max_message_chars: int = 20_000
    """Longest message body accepted."""
    max_members: int = 200
    """Most members one conversation may have."""
    max_upload_bytes: int = 100 * 1024 * 1024
    """Largest file accepted."""
    allowed_types: str = ""
    """Comma-separated allow-list of media types (``image/*`` works); empty allows all."""
    posts_per_minute: int = 120
    """Per-user posting rate limit."""
    page_size: int = 50
    """Messages per page in the stream."""
    video_provider: str = "jitsi"
    """Video provider: ``jitsi`` or ``builtin``."""
    jitsi_url: str = "https://meet.jit.si"
    """Base URL of the Jitsi Meet server."""
    jitsi_app_id: str = ""
    """App id for self-hosted Jitsi JWT auth; empty means no JWT."""
    jitsi_app_secret: str = ""
    """Secret for self-hosted Jitsi JWT auth."""
    ice_servers: str = ""
    """Comma-separated STUN/TURN URLs for the built-in call."""
    video_info_url: str = "https://jitsi.github.io/handbook/docs/user-guide/user-guide-start-a-meeting"
    """'More information' link shown under the video button."""

    @property
    def store_url(self) -> str:
        """The effective store URL."""
        if self.store:
            return self.store
        return f"sqlite:///{(self.data_dir / 'conferencing.db').resolve()}"

    @property
    def blob_location(self) -> str:
        """The effective blob store location."""
        return self.blob_url or str((self.data_dir / "blobs").resolve())

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if "int" in kind_name and "Path" not in kind_name:
            # Every number is a size, count or limit: zero or less (or a TOML true/false) would switch a feature off
            # by accident, so refuse it here rather than fail later.
            value = int(raw) if not isinstance(raw, bool) else -1
            if value < 1:
                raise ValueError(raw)
            return value
        if "Path" in kind_name:
            return Path(str(raw)).expanduser()
        return str(raw)
    except (TypeError, ValueError) as exc:
        kind_name = "positive whole number" if "int" in kind_name and "Path" not in kind_name else kind_name
        raise InvalidInput(f"Setting {name!r} must be a {kind_name}, got {raw!r}.") from exc


def load_settings(toml_path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (``CONFERENCING_CONFIG`` or ``toml_path``) and the environment."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    path = toml_path or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"Cannot read settings file {path}: {exc}") from exc
        values.update(data.get("conferencing", data))
    for f in fields(Settings):
        key = ENV_PREFIX + f.name.upper()
        if key in env:
            values[f.name] = env[key]
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}. See the README's settings table.")
    return Settings(**{k: _coerce(k, v, known[k].type) for k, v in values.items()})

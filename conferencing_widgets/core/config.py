"""Settings: ``CONFERENCING_*`` environment variables over an optional TOML file over defaults."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import CasePriority
from conferencing_widgets.core.worktime import (
    DEFAULT_TARGETS,
    BusinessHours,
    Targets,
    parse_business_hours,
    parse_targets,
)

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
    upload_token_ttl: str = "30m"
    """Lifetime of the upload tokens a page's kernel issues (``30m``); a resuming page asks for a fresh one."""
    upload_expiry: str = "24h"
    """How long an unfinished resumable upload (and a finished one's record) is kept before it is removed."""
    table_max_rows: int = 1_000_000
    """Most data rows a shared CSV/TSV file is read with as a DataFrame (``FileService.file_table``)."""
    table_max_bytes: int = 100 * 1024 * 1024
    """Largest CSV/TSV file read as a DataFrame; bigger ones are refused before any byte is read."""
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
    default_language: str = "en"
    """UI language when neither the link, the user's choice nor the browser names a shipped one (``en``, ``pl``)."""
    video_info_url: str = "https://jitsi.github.io/handbook/docs/user-guide/user-guide-start-a-meeting"
    """'More information' link shown under the video button."""
    response_targets: str = DEFAULT_TARGETS
    """Response-clock targets per case priority: ``PRIORITY=FIRST/NEXT`` pairs (``urgent=1h/4h, ...``)."""
    business_hours: str = ""
    """When response clocks count, e.g. ``mon-fri 08:00-17:00``; empty: around the clock."""
    business_timezone: str = "UTC"
    """Time zone of ``business_hours`` (IANA name such as ``Europe/Warsaw``)."""

    relay_socket: str = ""
    """UNIX socket of the server's feed relay (PostgreSQL); default ``data_dir/feed-relay.sock``."""
    pool_idle: int = 30
    """Seconds after its last use that a process closes its pooled PostgreSQL connections."""

    def __post_init__(self) -> None:
        # Malformed clock settings fail when the settings are read, not at the first case shown.
        self.targets()
        self.hours()

    def targets(self) -> dict[str, Targets]:
        """``response_targets`` parsed: priority value -> first/next response targets."""
        return parse_targets(self.response_targets, tuple(p.value for p in CasePriority))

    def hours(self) -> BusinessHours:
        """``business_hours`` in ``business_timezone``, parsed."""
        return parse_business_hours(self.business_hours, self.business_timezone)

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


def _positive_int(raw: Any) -> int:
    # Every number is a size, count or limit: zero or less (or a TOML true/false) would switch a feature off by
    # accident, so refuse it here rather than fail later. A TOML 12.0 is whole; 12.5 is not rounded away.
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(raw)
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _text(raw: Any) -> str:
    # A TOML array or table would otherwise become its Python repr, silently.
    if isinstance(raw, list | dict):
        raise TypeError(raw)
    return str(raw)


def _path(raw: Any) -> Path:
    return Path(_text(raw)).expanduser()


_PARSERS: dict[type, tuple[Callable[[Any], Any], str]] = {
    # A setting's type -> its parser, and what an error message calls a valid value.
    int: (_positive_int, "positive whole number"),
    str: (_text, "str"),
    Path: (_path, "Path"),
}

# Resolved once from the real annotations: a new setting of a type without a parser fails at import, not in use.
_FIELD_PARSERS = {name: _PARSERS[hint] for name, hint in get_type_hints(Settings).items()}


def _coerce(name: str, raw: Any) -> Any:
    parse, what = _FIELD_PARSERS[name]
    try:
        return parse(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"Setting {name!r} must be a {what}, got {raw!r}.") from exc


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
    unknown = sorted(set(values) - set(_FIELD_PARSERS))
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}. See the README's settings table.")
    return Settings(**{k: _coerce(k, v) for k, v in values.items()})

"""The ``conferencing`` command. Settings come from ``CONFERENCING_*`` variables (see the README)."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from conferencing_widgets.cli_help import HelpGroup
from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import LANGUAGES, _, set_language, supported
from conferencing_widgets.store import Store

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def clean_errors(fn: F) -> F:
    """Domain and I/O errors become one clean line and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConferencingError, OSError) as exc:
            click.echo(_("Error: {error}").format(error=exc), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def terminal_language() -> str | None:
    """The shipped language of the shell's locale variables (POSIX order), or None."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return supported(value.split(".")[0])
    return None


def settings_with(store: str | None = None) -> Settings:
    """Settings from the environment, with a ``--store`` override."""
    settings = load_settings()
    return settings.replace(store=store) if store else settings


def ensure_secret(settings: Settings) -> Settings:
    """Use ``CONFERENCING_SECRET``, or a secret kept in the data folder (created once)."""
    if settings.secret:
        return settings
    path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return settings.replace(secret=path.read_text(encoding="utf-8").strip())


def open_store(settings: Settings) -> Store:
    """The store the settings name, with its schema up to date."""
    store = Store(settings.store_url)
    store.create_schema()
    return store


class ConferencingGroup(HelpGroup):
    """The command group; it chooses the language of everything it prints."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # Lines for people, --help included, follow the shell's language (LC_ALL, LC_MESSAGES, LANG:
        # pl_PL.UTF-8 -> Polish); machine output (--json, links, exports) is the same in every language.
        # Chosen before parsing: click prints --help while it parses.
        set_language(terminal_language())
        return super().make_context(info_name, args, parent, **extra)


@click.group(cls=ConferencingGroup, context_settings=CONTEXT)
def main() -> None:
    """Chat, whiteboards, files and video calls for service cases.

    \b
    Example:
      conferencing demo            # seed demo data and serve the dashboards
    """


@main.command(context_settings=CONTEXT)
@click.option("--store", "store_url", help="Store URL (default: CONFERENCING_STORE or SQLite in the data folder).")
@clean_errors
def init(store_url: str | None) -> None:
    """Create or upgrade the store's schema.

    \b
    Example:
      conferencing init --store postgresql://localhost/conferencing
    """
    settings = settings_with(store_url)
    open_store(settings).close()
    url = Store(settings.store_url).engine.url.render_as_string(hide_password=True)
    click.echo(_("Store ready: {url}").format(url=url))


@main.command(context_settings=CONTEXT)
@click.option("--store", "store_url", help="Store URL (default: CONFERENCING_STORE or SQLite in the data folder).")
@click.option("--no-serve", is_flag=True, help="Only seed the data and print the links.")
@click.option("--port", default=8866, show_default=True, help="Port for Voila on 127.0.0.1.")
@click.option(
    "--dashboards",
    "dashboards_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of dashboard notebooks (default: ./dashboards).",
)
@clean_errors
def demo(store_url: str | None, no_serve: bool, port: int, dashboards_dir: str | None) -> None:
    """Seed demo data (idempotent), print signed links, then serve the dashboards.

    \b
    Example:
      conferencing demo --port 8866
      conferencing demo --no-serve
    """
    from conferencing_widgets.core.identity import dashboard_url, parse_duration
    from conferencing_widgets.demo import seed_demo

    settings = ensure_secret(settings_with(store_url))
    store = open_store(settings)
    logins = seed_demo(store, settings)
    base = f"http://127.0.0.1:{port}"
    ttl = parse_duration(settings.link_ttl)
    click.echo(_("Demo store seeded: {url}").format(url=store.engine.url.render_as_string(hide_password=True)))
    for label, login in (
        (_("customer"), logins.customer),
        (_("technician"), logins.technician),
        (_("engineer"), logins.engineer),
    ):
        click.echo(f"  {label:<10} {login:<9} {dashboard_url(base, login, settings.secret, ttl)}")
    store.close()
    if no_serve:
        return
    from conferencing_widgets.voila.serve import serve_dashboards

    serve_dashboards(settings, port=port, dashboards_dir=Path(dashboards_dir) if dashboards_dir else None)


@main.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--store", "store_url", help="Store URL.")
@clean_errors
def users(as_json: bool, store_url: str | None) -> None:
    """List users with login, display name, group and role.

    \b
    Example:
      conferencing users --json
    """
    store = open_store(settings_with(store_url))
    rows = [
        {
            "login": u.login,
            "display_name": u.display_name,
            "group": u.group_id,
            "role": u.role.value,
            "disabled": u.disabled,
        }
        for u in store.users()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        flag = " " + _("(disabled)") if r["disabled"] else ""
        click.echo(f"{r['login']:<16} {r['display_name']:<28} {r['group']:<12} {r['role']}{flag}")


@main.command(context_settings=CONTEXT)
@click.argument("user")
@click.option("--expires", default=None, help="Lifetime such as 30m, 12h, 7d (default: CONFERENCING_LINK_TTL).")
@click.option("--base-url", default=None, help="Public URL of the Voila server (default: CONFERENCING_BASE_URL).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="Language of the dashboard (en or pl).")
@click.option("--store", "store_url", help="Store URL.")
@clean_errors
def link(user: str, expires: str | None, base_url: str | None, lang: str | None, store_url: str | None) -> None:
    """Print a signed dashboard link for USER.

    \b
    Example:
      conferencing link alice --expires 7d --base-url https://service.example.com --lang pl
    """
    from conferencing_widgets.core.identity import dashboard_url, parse_duration

    settings = ensure_secret(settings_with(store_url))
    store = open_store(settings)
    account = store.get_user(user)
    if account.disabled:
        raise ConferencingError(_("{user!r} is disabled; enable the account before sending a link.").format(user=user))
    ttl = parse_duration(expires or settings.link_ttl)
    params = {"lang": lang} if lang else {}
    click.echo(dashboard_url(base_url or settings.base_url, account.login, settings.secret, ttl, **params))


@main.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--store", "store_url", help="Store URL.")
@clean_errors
def load(file: str, store_url: str | None) -> None:
    """Create or update groups, users and cases from a YAML or JSON file.

    \b
    Example:
      conferencing load people.yaml

    \b
    The file holds three lists, each optional:
      groups: [{id: acme, name: ACME, is_vendor: false}]
      users:  [{login: alice, display_name: Alice, group: acme, role: customer}]
      cases:  [{number: SR-2026-00042, title: ..., group: acme, technicians: [tom]}]
    """
    from conferencing_widgets.loader import load_file

    store = open_store(settings_with(store_url))
    counts = load_file(store, Path(file))
    # The section names are the file's own keys (groups, users, cases), kept as written.
    click.echo(_("{summary} loaded.").format(summary=", ".join(f"{n} {what}" for what, n in counts.items())))


@main.command(context_settings=CONTEXT)
@click.option("--store", "store_url", help="Store URL (default: CONFERENCING_STORE or SQLite in the data folder).")
@click.option("--port", default=8866, show_default=True, help="Port for Voila.")
@click.option(
    "--ip",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; a private address when a proxy on another host forwards to this server.",
)
@click.option(
    "--dashboards",
    "dashboards_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of dashboard notebooks (default: ./dashboards).",
)
@clean_errors
def serve(store_url: str | None, port: int, ip: str, dashboards_dir: str | None) -> None:
    """Serve the dashboards with Voila until Ctrl-C (uses the repository's voila.json).

    \b
    Example:
      conferencing serve --port 8866
      conferencing serve --ip 10.0.0.11 --port 8866           # behind a proxy on another host
      conferencing link alice --base-url http://127.0.0.1:8866   # in another shell
    """
    from conferencing_widgets.voila.serve import serve_dashboards

    settings = ensure_secret(settings_with(store_url))
    open_store(settings).close()
    serve_dashboards(settings, port=port, ip=ip, dashboards_dir=Path(dashboards_dir) if dashboards_dir else None)


@main.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]), default="parquet", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the files.")
@click.option("--since", default=None, help="Earliest time included (ISO date or time, UTC).")
@click.option("--until", default=None, help="End of the range (exclusive; a plain date includes that day).")
@click.option("--group", "groups", multiple=True, help="Only conversations of this customer group (repeatable).")
@click.option("--case", "cases", multiple=True, help="Only chats about this case id or number (repeatable).")
@click.option("--kind", type=click.Choice(["direct", "service_case"]), default=None, help="Only this kind.")
@click.option("--table", "only", multiple=True, help="Only this table (repeatable; default all).")
@click.option("--store", "store_url", help="Store URL.")
@clean_errors
def export(
    fmt: str,
    out_dir: str,
    since: str | None,
    until: str | None,
    groups: tuple[str, ...],
    cases: tuple[str, ...],
    kind: str | None,
    only: tuple[str, ...],
    store_url: str | None,
) -> None:
    """Export conversations, members, messages, files, whiteboards, calls and cases, one file per table.

    This is the operator's export: everything in the store. Analysts export what they may read
    with conferencing_widgets.export.api.frames(service=...).

    \b
    Example:
      conferencing export --format parquet --out exports/ --since 2026-01-01 --group acme
    """
    from conferencing_widgets.export import api as exporter

    # Read-only: an export never runs migrations (and skips their start-up cost).
    store = Store(settings_with(store_url).store_url)
    try:
        counts = exporter.write(
            out_dir,
            fmt=fmt,
            store=store,
            since=since,
            until=until,
            groups=groups,
            cases=cases,
            kind=kind,
            only=only or None,
            inline_sqlite=True,  # this process holds no other connection to the store file
        )
    finally:
        store.close()
    summary = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    click.echo(_("Exported to {folder} ({format}): {summary}.").format(folder=out_dir, format=fmt, summary=summary))


@main.command(context_settings=CONTEXT)
@click.argument("conversation")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="Output file (default: stdout).")
@click.option("--store", "store_url", help="Store URL.")
@clean_errors
def transcript(conversation: str, fmt: str, out_file: str | None, store_url: str | None) -> None:
    """Write a readable transcript of a conversation, or of every chat about a service case.

    CONVERSATION is a conversation id or a case number. The HTML is a standalone page, sanitised
    like the dashboard.

    \b
    Example:
      conferencing transcript SR-2026-00042 --format html --out SR-2026-00042.html
      conferencing transcript 12 > chat-12.md
    """
    from conferencing_widgets.transcript.render import render_ref

    store = open_store(settings_with(store_url))
    try:
        text = render_ref(store, conversation, fmt=fmt)
    finally:
        store.close()
    if out_file is None:
        click.echo(text, nl=False)
        return
    Path(out_file).write_text(text, encoding="utf-8")
    click.echo(_("Transcript written to {file}.").format(file=out_file))

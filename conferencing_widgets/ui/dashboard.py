"""Entry point of the Voila dashboards: who is visiting, then the app or the denied page.

With preheated kernels the notebook runs before any visitor exists, so the request is read with
Voila's ``get_query_string()`` (it blocks until the real request arrives) and nothing that depends on
the user happens before it. The request URL environment variable is never read: in a preheated kernel it holds the
previous visitor's URL.
"""

from __future__ import annotations

import os

import ipywidgets as w

from ..config import Settings, load_settings
from ..errors import ConferencingError, InvalidLink
from ..identity import token_from_query, user_from_token
from ..model import User
from ..store import Store
from .denied import denied_page


def request_query_string() -> str:
    """The visitor's query string under Voila; empty elsewhere."""
    try:
        from voila.utils import get_query_string
    except ImportError:
        return ""
    # Voila sets VOILA_PREHEAT in every kernel it starts (True for preheated ones).
    if "VOILA_PREHEAT" not in os.environ and "QUERY_STRING" not in os.environ:
        return ""  # not running under Voila (e.g. nbval or JupyterLab)
    return get_query_string() or ""


def visitor(query_string: str, settings: Settings) -> tuple[User, Store] | str:
    """The signed-in user and the store, or the sentence to show on the denied page."""
    token = token_from_query(query_string)
    if not token:
        return "This link has no access token. Ask your service contact for a new link."
    store = Store(settings.store_url)
    try:
        return user_from_token(store, token, settings.secret), store
    except InvalidLink as exc:
        store.close()
        return str(exc)


def conferencing_dashboard(query_string: str | None = None) -> w.Widget:
    """The whole dashboard for the visitor of this kernel."""
    from ..service import Service
    from .app import ConferencingApp

    settings = load_settings()
    who = visitor(request_query_string() if query_string is None else query_string, settings)
    if isinstance(who, str):
        return denied_page(who)
    user, store = who
    try:
        return ConferencingApp(Service(store, user.login, settings))
    except ConferencingError as exc:
        return denied_page(str(exc))

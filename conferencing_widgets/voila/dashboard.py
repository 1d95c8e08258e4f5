"""Entry point of the Voila dashboards: who is visiting, then the app or the denied page.

With preheated kernels the notebook runs before any visitor exists, so the request is read the way Voila's
``get_query_string()`` reads it (blocking until the real request arrives) and nothing that depends on the user
happens before it. The request URL environment variable is never read: in a preheated kernel it holds the
previous visitor's URL.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import ipywidgets as w

from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.errors import ConferencingError, InvalidLink
from conferencing_widgets.core.i18n import _, choose_language, set_language
from conferencing_widgets.core.identity import param_from_query, token_from_query, user_from_token
from conferencing_widgets.core.model import User
from conferencing_widgets.session import Session
from conferencing_widgets.store import Store
from conferencing_widgets.ui.denied import denied_page

log = logging.getLogger(__name__)
REQUEST_ATTEMPTS = 5
"""Times a preheated kernel opens Voila's request socket before giving up (the page then says the link is bad)."""
CONVERSATION_PARAM = "conversation"
"""The query parameter of the open conversation (set by the page, read at start)."""


def request_query_string() -> str:
    """The visitor's query string under Voila; empty elsewhere (nbval, JupyterLab)."""
    # Voila sets VOILA_PREHEAT in every kernel it starts (True for preheated ones) and QUERY_STRING in cold ones.
    if "VOILA_PREHEAT" not in os.environ and "QUERY_STRING" not in os.environ:
        return ""
    _wait_for_request()
    return os.environ.get("QUERY_STRING", "")


def _wait_for_request() -> None:
    """Voila's ``voila.utils.wait_for_request``, without importing ``voila.utils``.

    That module pulls in jupyter_server, jupyterlab_server and nbconvert: about 45 MB in every dashboard kernel,
    for one websocket read. Like Voila's own helper, a preheated kernel blocks here until Voila hands it the
    visitor's request over its ``voila/query/<kernel id>`` socket, then puts the request's variables
    (``QUERY_STRING`` and friends) into the environment. Cold kernels have them already.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "False":
        return
    env = os.environ
    base = env.get("VOILA_WS_BASE_URL", env.get("VOILA_SERVER_URL", "/"))
    url = (
        f"{env.get('VOILA_WS_PROTOCOL', 'ws')}://{env.get('VOILA_APP_IP', '127.0.0.1')}:"
        f"{env.get('VOILA_APP_PORT', '8866')}{base}voila/query/{env.get('VOILA_KERNEL_ID', '')}"
    )
    received: list[str | bytes] = []

    def receive() -> None:
        import asyncio

        import websockets

        async def once() -> None:
            # No keepalive pings: a pool kernel may wait hours for its visitor on loopback, and a pong late on a
            # busy server would close the socket (Voila's helper keeps the library's 20-s pings).
            async with websockets.connect(url, open_timeout=5, ping_interval=None) as ws:
                received.append(await ws.recv())

        # A socket that closes before the request came is opened again: Voila keeps a request that finds no
        # waiter and hands it to the next one (RequestInfoSocketHandler._cache), so nothing is lost meanwhile.
        for attempt in range(1, REQUEST_ATTEMPTS + 1):
            try:
                asyncio.run(once())
                return
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("could not read the visitor's request from Voila (attempt %d): %s", attempt, exc)
                time.sleep(min(5.0, 0.5 * attempt))

    # In a thread of its own, because the kernel's event loop is already running in this one.
    thread = threading.Thread(target=receive, name="voila-request")
    thread.start()
    thread.join()
    if received:
        for key, value in json.loads(received[0]).items():
            os.environ[key] = str(value)


def visitor(query_string: str, settings: Settings) -> tuple[User, Store] | str:
    """The signed-in user and the store, or the sentence to show on the denied page."""
    token = token_from_query(query_string)
    if not token:
        return _("This link has no access token. Ask your service contact for a new link.")
    store = Store(settings.store_url)
    try:
        return user_from_token(store, token, settings.secret), store
    except InvalidLink as exc:
        store.close()
        return str(exc)


def _visit(query_string: str | None, settings: Settings | None) -> tuple[Session, str] | w.Widget:
    """The visitor's session and query string, or the denied page (no data at all)."""
    settings = settings or load_settings()
    query = request_query_string() if query_string is None else query_string
    # Before anyone is signed in (the denied page speaks it too): the link's lang, the browser's, the default.
    set_language(
        choose_language(
            link=param_from_query(query, "lang"),
            accept_language=os.environ.get("HTTP_ACCEPT_LANGUAGE"),
            default=settings.default_language,
        )
    )
    who = visitor(query, settings)
    if isinstance(who, str):
        return denied_page(who)
    user, store = who
    try:
        session = Session(settings, store, user.login)
        set_language(
            choose_language(
                link=param_from_query(query, "lang"),
                preference=session.preferences.get("language"),
                # Voila hands the header over with the request (voila.json: VoilaConfiguration.http_header_envs).
                accept_language=os.environ.get("HTTP_ACCEPT_LANGUAGE"),
                default=settings.default_language,
            )
        )
        return session, query
    except ConferencingError as exc:
        return denied_page(str(exc))


def conferencing_dashboard(query_string: str | None = None, *, settings: Settings | None = None) -> w.Widget:
    """``dashboards/conferencing.ipynb``: the whole app for the visitor of this kernel."""
    from conferencing_widgets.ui.app import ConferencingApp

    visit = _visit(query_string, settings)
    if isinstance(visit, w.Widget):
        return visit
    session, query = visit
    try:
        app = ConferencingApp(session)
    except ConferencingError as exc:
        return denied_page(str(exc))
    # The page keeps the open conversation in its URL, so a reload (or a new kernel) lands in it again.
    app.connection.url_param = CONVERSATION_PARAM
    wanted = param_from_query(query, CONVERSATION_PARAM) or ""
    if wanted.isdigit():
        # The service checks the rights: a conversation this user may not read shows an error, never data.
        app.open_conversation(int(wanted))
    return app


def whiteboard_dashboard(query_string: str | None = None, *, settings: Settings | None = None) -> w.Widget:
    """``dashboards/whiteboard.ipynb``: the board ``board=<id>`` for the visitor of this kernel."""
    from conferencing_widgets.ui.whiteboard.feature import whiteboard_page

    visit = _visit(query_string, settings)
    if isinstance(visit, w.Widget):
        return visit
    session, query = visit
    return whiteboard_page(session.boards, param_from_query(query, "board"))


def call_dashboard(query_string: str | None = None, *, settings: Settings | None = None) -> w.Widget:
    """``dashboards/call.ipynb``: the call ``call=<id>`` for the visitor, or a clear refusal."""
    from conferencing_widgets.ui.calls.page import call_page

    visit = _visit(query_string, settings)
    if isinstance(visit, w.Widget):
        return visit
    session, query = visit
    return call_page(session.calls, param_from_query(query, "call"))

"""Honest reconnects (issue 16): the "Reconnecting…" banner, the "session gone" prompt, the page's URL.

The view (``assets/connection.js``) watches the page's kernel connection in the browser: the widget manager's
``kernel`` (a ``@jupyterlab/services`` ``KernelConnection``: ``connectionStatusChanged``, ``statusChanged``) and the
browser's ``online``/``offline`` events. While the connection is down it asks the server whether the kernel
still exists (``GET /api/kernels/<id>``); a 404 means it was culled or restarted, and the page offers a reload.
Python holds no connection state: the kernel cannot tell a page that cannot reach it.
"""

from __future__ import annotations

import anywidget
import traitlets

from conferencing_widgets.ui.strings import TranslatedView, view_js


class ConnectionBanner(TranslatedView, anywidget.AnyWidget):
    """The banner of the page's connection; it also keeps the open conversation in the page's URL."""

    _esm = view_js("connection.js")
    conversation_id = traitlets.Int(0, help="The open conversation (0 for none).").tag(sync=True)
    url_param = traitlets.Unicode(
        "",
        help="Query parameter that carries the open conversation in the page URL, so a reload lands in it "
        "('' leaves the URL alone, as in JupyterLab).",
    ).tag(sync=True)

"""What the calls views share: where their JavaScript and CSS live, and the base of links to other dashboards."""

from __future__ import annotations

import os

from conferencing_widgets.ui.strings import ASSETS

"""The UI's JavaScript and CSS (``video.js``, ``call.js``, ``call_redirect.js``, ``calls.css`` are this feature's)."""
CSS = ASSETS / "calls.css"
"""Styles of the video button, call rows and the call page (anywidget loads the file)."""


def ui_base_url() -> str | None:
    """Base for links to other dashboards: the serving Voilà's own base path; None (``Settings.base_url``) elsewhere."""
    # Voilà puts its base path (e.g. "/") in every kernel's environment; a relative link then works behind any proxy.
    return os.environ.get("VOILA_BASE_URL")


__all__ = ["ASSETS", "CSS", "ui_base_url"]

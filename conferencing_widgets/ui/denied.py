"""The page shown for a missing, invalid or expired link: a clear sentence and no data at all."""

from __future__ import annotations

import ipywidgets as w

from conferencing_widgets.ui.style import app_style
from conferencing_widgets.ui.templates import render


def denied_page(reason: str) -> w.VBox:
    """A ``cw-denied`` page with ``reason`` (a fixed sentence from identity.py, escaped anyway)."""
    body = w.HTML(render("templates/denied.html.j2", reason=reason))
    page = w.VBox([app_style(), body])
    page.add_class("cw-denied")
    return page

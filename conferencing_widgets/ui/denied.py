"""The page shown for a missing, invalid or expired link: a clear sentence and no data at all."""

from __future__ import annotations

from html import escape

import ipywidgets as w

from conferencing_widgets.ui.style import app_style


def denied_page(reason: str) -> w.VBox:
    """A ``cw-denied`` page with ``reason`` (a fixed sentence from identity.py, escaped anyway)."""
    body = w.HTML(
        "<h2>This link cannot be opened</h2>"
        f"<p>{escape(reason)}</p>"
        '<p class="cw-muted">Links to the service dashboard are personal and expire. '
        "Ask your service contact for a new one.</p>"
    )
    page = w.VBox([app_style(), body])
    page.add_class("cw-denied")
    return page

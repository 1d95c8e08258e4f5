"""The app's stylesheet, shipped as a file and injected once per page."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import ipywidgets as w

CSS_PATH = Path(__file__).parent / "assets" / "app.css"


@cache
def _css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def app_style() -> w.HTML:
    """An HTML widget carrying the trusted stylesheet."""
    return w.HTML(f"<style>{_css()}</style>", layout=w.Layout(display="none"))

"""Form fields whose values reach the kernel before the button that acts on them."""

from __future__ import annotations

from typing import Any

import ipywidgets as w


def form_text(**kwargs: Any) -> w.Text:
    """A text field whose value is sent to the kernel when the field is left (blur or Enter), not per keystroke.

    ipywidgets throttles each model's state messages: while one waits for the kernel to go idle, later keystrokes
    are buffered, and a button's click (another model's message, never throttled) overtakes them. A fast typist's
    Create or Sign then acted on the first letters only (CI once made a conversation titled "K"). Pressing the
    button leaves the field first, so the whole value goes out before the click.
    """
    return w.Text(continuous_update=False, **kwargs)


__all__ = ["form_text"]

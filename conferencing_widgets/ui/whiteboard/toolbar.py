"""The board's toolbar: tools, pen colours and widths, undo/redo, zoom, PNG download and the background controls.

It only builds the widgets and shows the selection; every click calls one method of the view it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as w

from conferencing_widgets.core.i18n import _
from conferencing_widgets.whiteboard.service import PALETTE, WIDTHS

TOOLS = ("pen", "line", "arrow", "rect", "ellipse", "text", "eraser")


def tool_label(name: str) -> str:
    """A tool's button text in the active language."""
    return {
        "pen": _("Pen"),
        "line": _("Line"),
        "arrow": _("Arrow"),
        "rect": _("Rectangle"),
        "ellipse": _("Ellipse"),
        "text": _("Text"),
        "eraser": _("Eraser"),
    }[name]


COLOR_NAMES = {
    "#1f1f1f": "black",
    "#e03131": "red",
    "#1971c2": "blue",
    "#2f9e44": "green",
    "#f08c00": "orange",
    "#9c36b5": "purple",
}
"""Pen colours by name (the name also makes the swatch's CSS class, so it is never translated)."""


def color_label(color: str) -> str:
    """A pen colour's tooltip in the active language."""
    names = {
        "black": _("black"),
        "red": _("red"),
        "blue": _("blue"),
        "green": _("green"),
        "orange": _("orange"),
        "purple": _("purple"),
    }
    name = COLOR_NAMES.get(color, color)
    return names.get(name, name)


def no_background_choice() -> tuple[str, int]:
    """The chooser's first entry (value 0: nothing chosen)."""
    return (_("(choose a shared file)"), 0)


class BoardActions(Protocol):
    """What the toolbar's buttons call (``WhiteboardView``)."""

    def select_tool(self, tool: str) -> None: ...
    def select_color(self, color: str) -> None: ...
    def select_width(self, width: float) -> None: ...
    def undo(self) -> None: ...
    def redo(self) -> None: ...
    def clear_mine(self) -> None: ...
    def zoom_to_fit(self) -> None: ...
    def zoom_reset(self) -> None: ...
    def set_background(self, attachment_id: int | None) -> None: ...
    def on_background_upload(self, change: dict[str, Any]) -> None: ...


def _button(label: str, css: str, tooltip: str, action: Callable[[], Any] | None) -> w.Button:
    b = w.Button(description=label, tooltip=tooltip)
    b.add_class(css)
    if action is not None:
        b.on_click(lambda _b: action())
    return b


class Toolbar:
    """The toolbar rows of one board view (drawing tools only for those who may draw)."""

    def __init__(self, view: BoardActions, *, png: w.Widget, read_only: bool) -> None:
        self.tool_buttons: dict[str, w.Button] = {}
        for name in TOOLS:
            b = w.Button(description=tool_label(name), tooltip=tool_label(name))
            b.add_class("cw-wb-tool")
            b.add_class(f"cw-wb-tool-{name}")
            b.on_click(lambda _b, name=name: view.select_tool(name))
            self.tool_buttons[name] = b
        self.color_buttons: dict[str, w.Button] = {}
        for color in PALETTE:
            b = w.Button(description="", tooltip=color_label(color))
            b.style.button_color = color
            b.add_class("cw-wb-color")
            b.add_class("cw-wb-swatch")
            b.add_class(f"cw-wb-color-{COLOR_NAMES.get(color, color.lstrip('#'))}")
            b.on_click(lambda _b, color=color: view.select_color(color))
            self.color_buttons[color] = b
        self.width_buttons: dict[float, w.Button] = {}
        for width in WIDTHS:
            b = w.Button(description=f"{width:g}", tooltip=_("Line width {width}").format(width=f"{width:g}"))
            b.add_class("cw-wb-width")
            b.add_class(f"cw-wb-width-{int(width)}")
            b.on_click(lambda _b, width=width: view.select_width(width))
            self.width_buttons[width] = b
        self.text_input = w.Text(
            placeholder=_("Label text, then click the board"), layout=w.Layout(width="200px")
        )
        self.text_input.add_class("cw-wb-text")
        self.undo_button = _button(_("Undo"), "cw-wb-undo", _("Undo your last action"), lambda: view.undo())
        self.redo_button = _button(_("Redo"), "cw-wb-redo", _("Redo what you undid"), lambda: view.redo())
        self.clear_button = _button(
            _("Clear mine"), "cw-wb-clear-mine", _("Remove all your strokes"), lambda: view.clear_mine()
        )
        self.fit_button = _button(_("Fit"), "cw-wb-fit", _("Zoom to fit the drawing"), lambda: view.zoom_to_fit())
        self.zoom_reset_button = _button(
            "100%", "cw-wb-zoom-reset", _("Show the page at 100 %"), lambda: view.zoom_reset()
        )
        # A described dropdown gets a <label for=...>, so screen readers name it (axe: select-name).
        self.bg_select = w.Dropdown(
            options=[no_background_choice()],
            value=0,
            description=_("Background"),
            style={"description_width": "initial"},
            layout=w.Layout(width="300px"),
        )
        self.bg_select.add_class("cw-wb-bg-select")
        self.bg_set = _button(
            _("Set background"), "cw-wb-bg-set", _("Draw the chosen file under the strokes"), None
        )
        self.bg_set.on_click(lambda _b: view.set_background(self.bg_select.value or None))
        self.bg_remove = _button(
            _("Remove background"), "cw-wb-bg-remove", "", lambda: view.set_background(None)
        )
        self.bg_upload = w.FileUpload(
            accept="image/png,image/jpeg,application/pdf,.png,.jpg,.jpeg,.pdf",
            multiple=False,
            description=_("Upload background"),
        )
        self.bg_upload.add_class("cw-wb-bg-upload")
        self.bg_upload.observe(view.on_background_upload, names="value")
        view_tools = [self.fit_button, self.zoom_reset_button, png]
        if read_only:
            badge = w.HTML(
                '<span class="cw-wb-readonly cw-muted">'
                f'{_("Read only: you are not a member of this chat.")}</span>'
            )
            toolbar = w.HBox([badge, *view_tools])
            self.rows: list[w.Widget] = [toolbar]
        else:
            toolbar = w.HBox(
                [
                    *self.tool_buttons.values(),
                    *self.color_buttons.values(),
                    *self.width_buttons.values(),
                    self.text_input,
                ]
            )
            actions = w.HBox(
                [
                    self.undo_button,
                    self.redo_button,
                    self.clear_button,
                    *view_tools,
                    self.bg_select,
                    self.bg_set,
                    self.bg_remove,
                    self.bg_upload,
                ]
            )
            actions.add_class("cw-wb-toolbar")
            self.rows = [toolbar, actions]
        toolbar.add_class("cw-wb-toolbar")

    def mark(self, tool: str, color: str, width: float) -> None:
        """Show which tool, colour and width are selected."""
        for name, b in self.tool_buttons.items():
            (b.add_class if name == tool else b.remove_class)("cw-wb-selected")
        for c, b in self.color_buttons.items():
            (b.add_class if c == color else b.remove_class)("cw-wb-selected")
        for wd, b in self.width_buttons.items():
            (b.add_class if wd == width else b.remove_class)("cw-wb-selected")

    def set_background_choices(self, choices: list[tuple[str, int]]) -> None:
        """Offer these (label, attachment id) files as backgrounds."""
        options = [no_background_choice(), *choices]
        if list(self.bg_select.options) != options:
            self.bg_select.options = options


__all__ = ["COLOR_NAMES", "TOOLS", "BoardActions", "Toolbar", "color_label", "no_background_choice", "tool_label"]

"""Sign-off in area 2: the staff's "Ask for sign-off" row on a resolved case, and the customer's "Confirm the
repair" panel (``cw-signoff``): the summary, a signature pad (an ipycanvas canvas, ``cw-signature``), the name and
a confirm button.

The pad only collects points and draws them as the user moves (nothing is drawn while the notebook executes, so
Voilà loses nothing); the service checks the points again, draws the PNG server-side and seals the bundle.
Every action goes to ``Session.signoff``, which checks the rights whatever the page shows.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from ipycanvas import Canvas

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.signoff.service import SealedSignoff
from conferencing_widgets.signoff.signature import MAX_NAME, MAX_POINTS, PAD_HEIGHT, PAD_WIDTH
from conferencing_widgets.ui.forms import form_text

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)


class SignoffFeature:
    """The sign-off row (staff) and panel (customers) of one app."""

    def __init__(self, app: ConferencingApp, on_done: Any = None) -> None:
        self.app = app
        self.signoff = app.session.signoff
        self._on_done = on_done
        self.strokes: list[list[tuple[float, float]]] = []
        self._drawing = False
        # Staff: a summary for the customer and the button.
        self.summary_input = form_text(
            placeholder=_("Short summary for the customer"), layout=w.Layout(width="320px", max_width="100%")
        )
        self.summary_input.add_class("cw-signoff-summary-input")
        # The button fits its label ("Poproś o potwierdzenie" was cut at the default 148 px), and the row
        # wraps on a phone.
        self.ask = w.Button(description=_("Ask for sign-off"), button_style="primary", layout=w.Layout(width="auto"))
        self.ask.add_class("cw-signoff-request")
        self.ask.on_click(lambda _b: self.request())
        self.staff_row = w.HBox(
            [self.summary_input, self.ask], layout=w.Layout(display="none", flex_flow="row wrap", max_width="100%")
        )
        self.staff_row.add_class("cw-signoff-ask")
        # Customers: the panel.
        self.heading = w.HTML(f"<h3>{escape_text(_('Confirm the repair'))}</h3>")
        self.summary = w.HTML()
        self.summary.add_class("cw-signoff-text")
        self.pad = Canvas(
            width=PAD_WIDTH,
            height=PAD_HEIGHT,
            layout=w.Layout(width=f"{PAD_WIDTH}px", height=f"{PAD_HEIGHT}px", border="1px solid #888"),
        )
        self.pad.add_class("cw-signature")
        self.pad.on_mouse_down(self._down)
        self.pad.on_mouse_move(self._move)
        self.pad.on_mouse_up(self._up)
        self.pad.on_mouse_out(self._up)
        self.hint = w.HTML(escape_text(_("Sign in the box with your mouse or finger.")))
        self.clear_button = w.Button(description=_("Clear"))
        self.clear_button.add_class("cw-signoff-clear")
        self.clear_button.on_click(lambda _b: self.clear())
        self.name = form_text(placeholder=_("Your name"), layout=w.Layout(width="260px"))
        self.name.add_class("cw-signoff-name")
        self.confirm_button = w.Button(description=_("Confirm the repair"), button_style="success")
        self.confirm_button.add_class("cw-signoff-confirm")
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.panel = w.VBox(
            [
                self.heading,
                self.summary,
                self.hint,
                self.pad,
                w.HBox([self.clear_button]),
                w.HBox([self.name, self.confirm_button]),
                self.error,
            ],
            layout=w.Layout(display="none", padding="6px", border="1px solid #9fd3a8"),
        )
        self.panel.add_class("cw-signoff")
        extras = app.messages.extras
        extras.children = [*extras.children, self.staff_row, self.panel]

    # -- showing --------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the row or the panel that fits the open chat now (called whenever the case view refreshes)."""
        conv = self.app.conversation
        ask = sign = False
        text = ""
        if conv is not None and conv.case_id is not None:
            try:
                ask = self.signoff.may_request(conv.id)
                sign = self.signoff.may_sign(conv.id)
                pending = self.signoff.pending(conv.id) if sign else None
                text = pending.summary if pending is not None else ""
            except ConferencingError as exc:
                self.app.messages.error.value = escape_text(str(exc))
        self.staff_row.layout.display = "" if ask else "none"
        if ask:
            self.ask.description = _("Ask again for sign-off") if self._asked(conv) else _("Ask for sign-off")
        was_shown = self.panel.layout.display != "none"
        self.panel.layout.display = "" if sign else "none"
        html = escape_text(text)
        if self.summary.value != html:
            self.summary.value = html
        if sign and not was_shown:
            self.clear()
            self.error.value = ""

    def _asked(self, conv: Any) -> bool:
        try:
            return self.signoff.pending(conv.id) is not None
        except ConferencingError:
            return False

    # -- the pad ----------------------------------------------------------------------------------------------

    def _down(self, x: float, y: float) -> None:
        if sum(len(s) for s in self.strokes) >= MAX_POINTS:
            self.error.value = escape_text(_("The signature is long enough; confirm or clear it."))
            return
        self._drawing = True
        self.strokes.append([(x, y)])
        self.pad.fill_style = "#141414"
        self.pad.fill_circle(x, y, 1.25)

    def _move(self, x: float, y: float) -> None:
        if not self._drawing or not self.strokes:
            return
        if sum(len(s) for s in self.strokes) >= MAX_POINTS:
            self._drawing = False
            return
        x0, y0 = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self.pad.stroke_style = "#141414"
        self.pad.line_width = 2.5
        self.pad.line_cap = "round"
        self.pad.stroke_line(x0, y0, x, y)

    def _up(self, x: float, y: float) -> None:
        self._drawing = False

    def draw(self, strokes: list[list[tuple[float, float]]]) -> None:
        """Sign as if drawn with the mouse (tests, notebooks)."""
        for stroke in strokes:
            if not stroke:
                continue
            self._down(*stroke[0])
            for point in stroke[1:]:
                self._move(*point)
            self._up(*stroke[-1])

    def clear(self) -> None:
        """Empty the pad."""
        self.strokes = []
        self._drawing = False
        self.pad.clear()

    # -- actions ----------------------------------------------------------------------------------------------

    def request(self) -> bool:
        """Ask for sign-off in the open chat as if the button was clicked; True when asked."""
        conv = self.app.conversation
        if conv is None:
            return False
        try:
            self.signoff.request(conv.id, self.summary_input.value)
        except ConferencingError as exc:
            self.app.messages.error.value = escape_text(str(exc))
            return False
        self.app.messages.error.value = ""
        self.summary_input.value = ""
        self.app.messages.catch_up()
        self.refresh()
        return True

    def confirm(self) -> SealedSignoff | None:
        """Sign with the pad's strokes and the typed name as if Confirm was clicked."""
        conv = self.app.conversation
        if conv is None:
            return None
        if len(self.name.value) > MAX_NAME * 4:
            self.name.value = self.name.value[: MAX_NAME * 4]
        self.confirm_button.disabled = True
        try:
            sealed = self.signoff.sign(conv.id, name=self.name.value, strokes=[list(s) for s in self.strokes])
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return None
        finally:
            self.confirm_button.disabled = False
        self.error.value = ""
        self.clear()
        self.name.value = ""
        if self._on_done is not None:
            self._on_done(conv.id)
        return sealed

"""Display of the case workflow: labels, tile fields and the Details part. No business logic: the clocks come from
``CaseService`` (``cases/clocks.py``); this only words and escapes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conferencing_widgets.cases.clocks import Clock, Level, Side
from conferencing_widgets.cases.service import CaseView, priority_label, status_label
from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.templates import render


def span(delta: timedelta) -> str:
    """A short duration: ``45 min``, ``3 h 05 min``, ``2 d 4 h``."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("{d} d {h} h").format(d=days, h=hours)
    if hours:
        return _("{h} h {m:02d} min").format(h=hours, m=mins)
    return _("{m} min").format(m=mins)


def turn_label(view: CaseView, now: datetime) -> str:
    """``waiting on MachTool · 2 h 05 min`` / ``waiting on you · 10 min``; empty once resolved or closed."""
    turn = view.clocks.turn
    if turn is None:
        return ""
    if turn is view.my_side:
        who = _("waiting on you")
    elif turn is Side.VENDOR:
        who = _("waiting on {name}").format(name=view.vendor_name)
    else:
        who = _("waiting on {name}").format(name=view.customer_name)
    since = view.clocks.turn_since
    return who if since is None else f"{who} · {span(now - since)}"


def _clock_text(clock: Clock) -> str:
    target = "" if clock.target is None else f" / {span(clock.target)}"
    return f"{span(clock.elapsed)}{target}"


def _clock_state(clock: Clock) -> str:
    if clock.open:
        return _("running") if clock.running else _("paused")
    if clock.met is None:
        return _("answered")
    return _("met") if clock.met else _("missed")


def alert_clock(view: CaseView) -> tuple[str, Clock] | None:
    """The open clock a tile highlights (the worse of the two), with its name."""
    named = [(_("first response"), view.clocks.first), (_("next response"), view.clocks.next)]
    open_clocks = [(n, c) for n, c in named if c is not None and c.open]
    if not open_clocks:
        return None
    order = {Level.OVER: 0, Level.NEAR: 1, Level.OK: 2}
    return min(open_clocks, key=lambda nc: order[nc[1].level])


def tile_fields(view: CaseView, now: datetime) -> dict[str, Any]:
    """Plain-text fields of a case tile (the widget sets them with textContent)."""
    fields: dict[str, Any] = {
        "status": view.case.status.value,
        "status_label": status_label(view.case.status),
        "turn_label": turn_label(view, now),
        "turn_mine": view.my_turn,
        "alert": view.clocks.alert.value,
        "clock_label": "",
    }
    shown = alert_clock(view)
    if shown is not None:
        name, clock = shown
        fields["clock_label"] = f"{name} {_clock_text(clock)}"
    return fields


def details_html(view: CaseView, now: datetime, *, staff: bool) -> str:
    """Safe HTML of the Details area's case status part."""
    clocks = []
    for name, clock in ((_("First response"), view.clocks.first), (_("Next response"), view.clocks.next)):
        if clock is not None:
            clocks.append(
                {"name": name, "text": _clock_text(clock), "state": _clock_state(clock), "level": clock.level.value}
            )
    return render(
        "cases/templates/case_status.html.j2",
        status=view.case.status.value,
        status_label=status_label(view.case.status),
        priority=priority_label(view.case.priority) if staff else "",
        turn=turn_label(view, now),
        turn_mine=view.my_turn,
        clocks=clocks,
        staff=staff,
        labels={
            "title": _("Case status"),
            "status": _("Status"),
            "priority": _("Priority"),
            "turn": _("Whose turn"),
            "none": _("No response clock yet: it starts with the customer's first message."),
        },
    )


def chip_html(view: CaseView) -> str:
    """Safe HTML of the read-only status chip in area 2."""
    return render(
        "cases/templates/case_chip.html.j2", status=view.case.status.value, status_label=status_label(view.case.status)
    )

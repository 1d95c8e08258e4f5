"""The demo's shorter conversations: one case in each remaining status (one overdue) and two direct chats."""

from __future__ import annotations

from datetime import timedelta

from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.demo.script import (
    AskSignoff,
    D,
    H,
    Item,
    M,
    Msg,
    S,
    Script,
    SignOff,
    Status,
    spindle_script,
)


def _at(*items: tuple[timedelta, Item]) -> list[tuple[timedelta, Item]]:
    return list(items)


def tool_changer() -> Script:
    """SR-2026-00057: waiting on the customer (ACME) for a video of the fault."""
    return Script(
        kind=ConversationKind.SERVICE_CASE,
        title="Tool changer pocket 14",
        case_number="SR-2026-00057",
        creator="adam",
        others=(),
        timeline=_at(
            (5 * D + 2 * H, Msg(author="adam", body="The changer stalls at pocket 14 every third cycle.")),
            (5 * D + 1 * H, Msg(author="tina.tech", body="Does the HMI show an alarm number when it stalls?")),
            (5 * D, Msg(author="adam", body="Alarm **2041**: tool pocket position not reached.")),
            (4 * D + 6 * H, Msg(author="tina.tech", body="Please check the pocket's proximity switch gap: 1.5 mm.")),
            (3 * D + 5 * H, Msg(author="adam", body="Gap was 2.4 mm, adjusted to 1.5. Better, but it still stalls.")),
            (3 * D + 4 * H, Msg(author="tina.tech", body="On my way Thursday.")),
            (1 * D + 3 * H, Msg(author="tina.tech", body="Could you film one full change cycle before I come?")),
            (1 * D + 3 * H - 2 * M, Status(by="tina.tech", status=S.WAITING_ON_CUSTOMER)),
        ),
    )


def coolant() -> Script:
    """SR-2026-00061: urgent, open, and overdue: Bella's last message has waited past the 4 h target."""
    return Script(
        kind=ConversationKind.SERVICE_CASE,
        title="Coolant pressure",
        case_number="SR-2026-00061",
        creator="bella",
        others=("bruno",),
        timeline=_at(
            (2 * D + 3 * H, Msg(author="bella", body="Coolant pressure drops to 2 bar after 20 minutes.")),
            (2 * D + 2 * H + 20 * M, Msg(author="tom.tech", body="Is the filter clean?")),
            (2 * D + 1 * H, Msg(author="bruno", body="Filter changed this morning, same drop.")),
            (2 * D, Msg(author="tom.tech", body="Then please send the pump's current reading at 20 minutes.")),
            (1 * D + 2 * H, Msg(author="bella", body="Current is 7.8 A, nameplate says 6.5 A.")),
            (1 * D + 1 * H, Msg(author="tom.tech", body="That points to the pump bearing. Can you hear it grind?")),
            (7 * H, Msg(author="bella", body="Yes, it grinds. **Line 2 is stopped**: we need a pump today.")),
        ),
    )


def axis_backlash() -> Script:
    """SR-2026-00070: resolved yesterday, waiting for Cobalt's sign-off."""
    return Script(
        kind=ConversationKind.SERVICE_CASE,
        title="Axis Y backlash",
        case_number="SR-2026-00070",
        creator="celina",
        others=(),
        timeline=_at(
            (9 * D + 1 * H, Msg(author="celina", body="After a crash on Friday the Y axis has 30 µm backlash.")),
            (9 * D, Msg(author="tina.tech", body="Please stop five-axis jobs and send the ballbar report.")),
            (9 * D - 5 * M, Status(by="tina.tech", status=S.WAITING_ON_CUSTOMER)),
            (8 * D + 2 * H, Msg(author="celina", body="Ballbar report: backlash 28 µm in Y, X is fine.")),
            (8 * D + 1 * H, Status(by="tina.tech", status=S.WAITING_ON_VENDOR)),
            (8 * D + 1 * H - 5 * M, Msg(author="tina.tech", body="The ballscrew nut has shifted. I'll adjust it.")),
            (3 * D + 4 * H, Msg(author="tina.tech", body="Nut adjusted and preload restored on site.")),
            (1 * D + 2 * H, Msg(author="tina.tech", body="Backlash re-measured: 4 µm. Resolving the case.")),
            (1 * D + 2 * H - 2 * M, Status(by="tina.tech", status=S.RESOLVED)),
            (1 * D + 2 * H - 3 * M, AskSignoff(by="tina.tech", summary="Ballscrew nut adjusted; Y backlash 4 µm.")),
            (1 * D + 1 * H, Msg(author="celina", body="Thank you! We will check and sign off tomorrow.")),
        ),
    )


def door_interlock() -> Script:
    """SR-2026-00078: resolved, signed off by Borg (which closed it) and sealed in a case record."""
    return Script(
        kind=ConversationKind.SERVICE_CASE,
        title="Door interlock",
        case_number="SR-2026-00078",
        creator="bruno",
        others=("bella",),
        timeline=_at(
            (11 * D + 4 * H, Msg(author="bruno", body="The door interlock reports open while the door is closed.")),
            (11 * D + 3 * H, Msg(author="tom.tech", body="Check the actuator tongue for swarf, please.")),
            (10 * D + 6 * H, Msg(author="bruno", body="Cleaned it: no change. The switch LED flickers.")),
            (9 * D + 2 * H, Msg(author="tom.tech", body="Replacement switch SW-1000-07 fitted today.")),
            (9 * D + 2 * H - 5 * M, Status(by="tom.tech", status=S.RESOLVED)),
            (9 * D + 2 * H - 6 * M, AskSignoff(by="tom.tech", summary="Door interlock switch SW-1000-07 replaced.")),
            (8 * D, Msg(author="bruno", body="Works fine all week. Thanks!", reactions=(("tom.tech", "🎉"),))),
            (3 * D, SignOff(by="bruno", name="Bruno Weiss")),
        ),
    )


def direct_chats() -> list[Script]:
    """Two direct chats: ACME's team, and the vendor's field service planning."""
    return [
        Script(
            kind=ConversationKind.DIRECT,
            title="ACME maintenance team",
            case_number=None,
            creator="alice",
            others=("adam",),
            timeline=_at(
                (4 * D + 1 * H, Msg(author="alice", body="Adam, can you take the call with MachTool tomorrow?")),
                (4 * D, Msg(author="adam", body="Yes, 10:00 works.")),
            ),
        ),
        Script(
            kind=ConversationKind.DIRECT,
            title="Field service planning",
            case_number=None,
            creator="tom.tech",
            others=("tina.tech", "erik.eng"),
            timeline=_at(
                (3 * D + 1 * H, Msg(author="tom.tech", body="Who covers Borg next week?")),
                (3 * D, Msg(author="tina.tech", body="I can.")),
            ),
        ),
    ]


def all_scripts() -> list[Script]:
    """Every demo conversation, in creation order."""
    return [spindle_script(), tool_changer(), coolant(), axis_backlash(), door_interlock(), *direct_chats()]

"""What happens in the demo's conversations, as timelines of plain records (no store here).

Each item carries ``ago``: how long before seeding it happened. The spindle case is a two-week story of some 200
messages: fixed beats (the report, the log and photo, the whiteboard, the call, the repair) with generated shift
reports and answers between them, some replies and reactions. A fixed seed makes it the same on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from conferencing_widgets.core.model import CaseStatus, ConversationKind

H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)
S = CaseStatus


@dataclass(frozen=True, kw_only=True)
class Msg:
    """A chat message; ``reply_to`` is an earlier ``Msg`` of the same script (compared by identity)."""

    author: str
    body: str
    reply_to: Msg | None = field(default=None, compare=False)
    reactions: tuple[tuple[str, str], ...] = ()
    note: bool = False
    """An internal note: vendor staff see it, the customer never does."""
    """(login, emoji) pairs."""


@dataclass(frozen=True, kw_only=True)
class Status:
    """A status change by vendor staff (with the notice the app posts)."""

    by: str
    status: CaseStatus


@dataclass(frozen=True, kw_only=True)
class File:
    """A shared file: ``what`` names a generator in ``media.py`` (photo, manual, log)."""

    author: str
    what: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Board:
    """A whiteboard drawn over the file shared under ``background`` (a ``File.name``)."""

    author: str
    title: str
    background: str


@dataclass(frozen=True, kw_only=True)
class Call:
    """A video call that ended ``minutes`` after it started."""

    author: str
    minutes: int
    joined: tuple[str, ...] = ()
    """Who joined the starter, a minute apart."""


@dataclass(frozen=True, kw_only=True)
class AskSignoff:
    """Vendor staff ask the customer to confirm the repair of a resolved case."""

    by: str
    summary: str


@dataclass(frozen=True, kw_only=True)
class SignOff:
    """The customer signs the repair off (the case closes and its record is sealed)."""

    by: str
    name: str


Item = Msg | Status | File | Board | Call | AskSignoff | SignOff


@dataclass(frozen=True, kw_only=True)
class Script:
    """One conversation and its timeline (oldest first)."""

    kind: ConversationKind
    title: str
    case_number: str | None
    creator: str
    others: tuple[str, ...]
    timeline: list[tuple[timedelta, Item]] = field(default_factory=list)
    """(ago, item), ``ago`` decreasing."""

    @property
    def start(self) -> timedelta:
        return self.timeline[0][0] + 10 * M


def spread(days_ago: float, items: list[Item], *, window: timedelta = 9 * H, end: timedelta = 0 * H) -> list:
    """Place one day's items evenly (with a little jitter) in a working-day window ``days_ago`` days back."""
    rng = random.Random(round(days_ago * 100) + len(items))
    top = days_ago * D + end + window
    step = window / (len(items) + 1)
    return [(top - (i + 1) * step + rng.uniform(-0.2, 0.2) * step, item) for i, item in enumerate(items)]


# -- the spindle case -----------------------------------------------------------------------------------------

BEFORE = [
    ("alice", "Shift report: {v:.1f} mm/s at {rpm} rpm, front bearing at {t} °C."),
    ("adam", "Run-out at the spindle nose measured again: {ro:.1f} µm."),
    ("alice", "We ran the finishing program at {low} rpm instead; the surface is fine there."),
    ("adam", "Chatter marks again on part {part}. Pictures are in our quality report."),
    ("alice", "The hum starts at about {rpm} rpm and fades above 7200."),
    ("adam", "Drawbar clamping force measured: {kn:.1f} kN."),
    ("alice", "Night shift saw {v:.1f} mm/s at {rpm} rpm."),
    ("adam", "Coolant-through was off for this run: same result, {v:.1f} mm/s."),
    ("alice", "Is it safe to keep running roughing jobs below 6000 rpm?"),
]
AFTER = [
    ("alice", "After the repair: {v2:.1f} mm/s at {rpm} rpm, front bearing at {t} °C."),
    ("adam", "Run-out with the new bearings: {ro2:.1f} µm."),
    ("alice", "Finishing program back at {rpm} rpm, surface Ra {ra:.2f} µm."),
    ("adam", "Night shift: {v2:.1f} mm/s at {rpm} rpm, no hum."),
    ("alice", "Part {part} passed the quality check at full speed."),
]
ANSWERS = [
    ("tom.tech", "Noted: {v:.1f} mm/s is in the “{band}” band of the manual."),
    ("tom.tech", "Thanks. Please keep jobs below 6000 rpm until we know more."),
    ("tom.tech", "That fits a worn front bearing. Let's compare with the next sweep."),
    ("tom.tech", "Could you send a screenshot of the spectrum from the HMI as well?"),
    ("tom.tech", "Our engineer Erik says the bearing temperature rises {dt:.1f} K per hour there: high, not critical."),
    ("tom.tech", "OK, thanks for the quick check."),
    ("tom.tech", "I compared it with two other VMC-850s: theirs stay under 1.5 mm/s at that speed."),
    ("tom.tech", "Yes, roughing below 6000 rpm is fine."),
]
AFTER_ANSWERS = [
    ("tom.tech", "Good news: {v2:.1f} mm/s is “{band2}”."),
    ("tom.tech", "Thanks, that is within spec."),
    ("tom.tech", "The new bearings run in over about 20 hours; values should settle a little lower."),
    ("tom.tech", "Perfect, keep an eye on it for a few more shifts."),
]
REACTORS = ("alice", "adam", "tom.tech")
EMOJI = ("👍", "👍", "✅", "👀", "❤️", "🎉")


def band(v: float) -> str:
    """The manual's vibration band of ``v`` mm/s."""
    if v <= 1.4:
        return "good"
    if v <= 2.8:
        return "acceptable"
    return "service within two weeks" if v <= 4.5 else "stop the machine"


class _Writer:
    """Builds a timeline: numbers for the templates, replies and reactions from a fixed seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.customer_msgs: list[Msg] = []

    def values(self) -> dict[str, object]:
        r = self.rng
        return {
            "v": r.uniform(3.0, 4.4),
            "v2": r.uniform(0.9, 1.8),
            "rpm": r.randrange(6200, 7600, 50),
            "low": r.randrange(4800, 5900, 100),
            "t": r.randrange(38, 47),
            "ro": r.uniform(3.1, 4.8),
            "ro2": r.uniform(1.0, 1.9),
            "part": f"AC-{r.randrange(1000, 9999)}",
            "kn": r.uniform(17.4, 18.6),
            "dt": r.uniform(1.5, 3.0),
            "ra": r.uniform(0.35, 0.8),
        }

    def msg(self, author: str, body: str, *, reply_to: Msg | None = None, react: bool = False) -> Msg:
        r = self.rng
        reactions: tuple[tuple[str, str], ...] = ()
        if react or r.random() < 0.16:
            who = r.sample([x for x in REACTORS if x != author], k=r.choice((1, 1, 2)))
            reactions = tuple((w, r.choice(EMOJI)) for w in who)
        out = Msg(author=author, body=body, reply_to=reply_to, reactions=reactions)
        if author in ("alice", "adam"):
            self.customer_msgs.append(out)
        return out

    def exchange(self, repaired: bool) -> list[Item]:
        """A customer report and the vendor's answer (sometimes a reply quoting an earlier report)."""
        vals = self.values()
        vals["band"], vals["band2"] = band(float(vals["v"])), band(float(vals["v2"]))  # type: ignore[arg-type]
        who, text = self.rng.choice(AFTER if repaired else BEFORE)
        first = self.msg(who, text.format(**vals))
        quoted = None
        if len(self.customer_msgs) > 3 and self.rng.random() < 0.22:
            quoted = self.customer_msgs[-self.rng.randrange(2, 4)]
        who2, text2 = self.rng.choice(AFTER_ANSWERS if repaired else ANSWERS)
        return [first, self.msg(who2, text2.format(**vals), reply_to=quoted)]


PHOTO = "VMC-850 work area.jpg"
LOG = "spindle-log-VMC850-1187.csv"
MANUAL = "VMC-850 spindle service manual.pdf"


def spindle_script() -> Script:
    """SR-2026-00042: two weeks, some 200 messages, files, a whiteboard and a call; ends waiting on the vendor."""
    w = _Writer(42)
    tl: list[tuple[timedelta, Item]] = []
    m = w.msg
    # Day 14: the report (the first four messages are the ones the tests and the README know).
    report = m("alice", "Hello, the spindle vibrates strongly above **6000 rpm** since Monday.", react=True)
    tl += spread(
        14,
        [
            report,
            m("tom.tech", "Thanks Alice. Can you send the vibration log from the HMI (*Diagnostics → Spindle*)?"),
            Status(by="tom.tech", status=S.WAITING_ON_CUSTOMER),
            m("alice", "Sure, uploading it this afternoon."),
            m("tom.tech", "Please also check the tool holder balance. See the [manual](https://example.com/manual)."),
            File(author="tom.tech", what="manual", name=MANUAL),
            m("tom.tech", "Chapter 7 of the manual above lists the checks and the vibration limits."),
        ],
    )
    log_msg = m("alice", "Here is the log of a sweep from 500 to 8000 rpm, and a photo of the work area.")
    tl += spread(
        13,
        [
            File(author="alice", what="log", name=LOG),
            File(author="alice", what="photo", name=PHOTO),
            log_msg,
            Status(by="tom.tech", status=S.WAITING_ON_VENDOR),
            m(
                "tom.tech",
                "Thanks! The log shows a resonance at about 6600 rpm: **4.3 mm/s**, over the 2.8 mm/s limit.",
                reply_to=log_msg,
                react=True,
            ),
            *[x for _ in range(3) for x in w.exchange(False)],
        ],
    )
    tl += spread(
        12,
        [
            Board(author="tom.tech", title="Spindle nose: measuring points", background=PHOTO),
            m(
                "tom.tech",
                "I marked the measuring points on your photo (see the whiteboard). @adam, can you measure "
                "the run-out at the red circle?",
            ),
            m("adam", "Will do first thing tomorrow."),
            *[x for _ in range(5) for x in w.exchange(False)],
        ],
    )
    for day in (11, 10):
        items: list[Item] = [x for _ in range(6) for x in w.exchange(False)]
        if day == 10:
            items[4:4] = [
                m("tom.tech", "Shall we go through the readings on a video call at 14:00?"),
                m("alice", "Yes, Adam and I will join."),
                Call(author="tom.tech", minutes=35, joined=("alice", "adam")),
                m(
                    "tom.tech",
                    "Summary of the call: the front bearing set gets replaced. I'm ordering part **SP-850-BRG-07**.",
                    react=True,
                ),
                Msg(
                    author="tom.tech",
                    body="Internal: bearing wear looks like coolant ingress. Warranty covers the part, not the labour; "
                    "check the spindle seal on site before quoting.",
                    note=True,
                ),
            ]
        tl += spread(day, items)
    tl += spread(
        9,
        [
            m("tom.tech", "Part SP-850-BRG-07 ships from Bremen on Thursday."),
            *[x for _ in range(6) for x in w.exchange(False)],
        ],
    )
    tl += spread(8, [x for _ in range(8) for x in w.exchange(False)])
    slot = m("tom.tech", "The bearings arrived. Can I come on Tuesday or Wednesday?")
    tl += spread(
        7,
        [
            *w.exchange(False),
            slot,
            Status(by="tom.tech", status=S.WAITING_ON_CUSTOMER),
            m("alice", "Tuesday 9:00 works for us.", reply_to=slot),
            Status(by="tom.tech", status=S.WAITING_ON_VENDOR),
            *w.exchange(False),
            *w.exchange(False),
        ],
    )
    repaired = m(
        "tom.tech",
        "Bearing set replaced, run-out now 1.5 µm. Please run the sweep again on the next shift.",
        react=True,
    )
    tl += spread(
        6,
        [
            repaired,
            Status(by="tom.tech", status=S.WAITING_ON_CUSTOMER),
            m("alice", "Thank you Tom, great work on site!"),
            *[x for _ in range(3) for x in w.exchange(True)],
        ],
    )
    tl += spread(
        5,
        [
            m("alice", "New sweep: 1.6 mm/s at 6600 rpm. Much better!", reply_to=repaired, react=True),
            Status(by="tom.tech", status=S.WAITING_ON_VENDOR),
            *[x for _ in range(6) for x in w.exchange(True)],
        ],
    )
    for day in (4, 3, 2, 1):
        tl += spread(day, [x for _ in range(9) for x in w.exchange(True)])
    tl += spread(
        0,
        [
            *w.exchange(True),
            m("alice", "@tom.tech the hum is back at 7800 rpm after the night shift: 2.9 mm/s."),
            m("tom.tech", "Thanks Alice, I'm checking the balance data with Erik and will call you tomorrow."),
        ],
        window=4 * H,
        end=1 * H,
    )
    return Script(
        kind=ConversationKind.SERVICE_CASE,
        title="Spindle vibration",
        case_number="SR-2026-00042",
        creator="alice",
        others=("adam",),
        timeline=tl,
    )

"""Service metrics computed from exported frames (``export.metrics`` reads the frames, this computes).

Definitions (system messages are ignored everywhere; a *vendor* message is one by a technician,
engineer or admin, a *customer* message one by a customer):

- **response clocks** (per case): computed by ``cases/clocks.py``, the functions the staff's screen uses, from
  the exported messages of the case's chats and the case's status history, at ``now``:
  - ``time_to_first_response``: from the first customer message (any chat of the case) to the first vendor
    message after it, counting only while the case is open or waiting on the vendor (paused while waiting on
    the customer, resolved or closed) and, when ``business_hours`` is set, only within them. Empty (NaT) while
    no vendor has answered, or when the customer never wrote. ``first_response_met``: answered within the
    priority's target (NA while open or without a target).
  - ``time_to_next_response`` / ``next_response_met``: the same for the latest later wait (a customer message
    after a vendor answer, or a reopen), still running (elapsed so far) or answered.
  - ``clock_alert``: ``ok``, ``near`` or ``over``: the worst open clock against its target, as on a tile.
  - ``turn`` (``vendor``, ``customer`` or empty once resolved) and ``turn_since``.
  With a date range the clocks see only the exported messages, so they match the screen for an export
  without ``since``/``until``.
- **median response time** (per case): within each chat of the case, every customer message that
  starts the chat or follows a vendor message opens a *wait*; the wait ends at the next vendor message
  in that chat. Follow-up customer messages in the same run do not open new waits. The median is taken
  over all answered waits of the case; ``unanswered`` counts the waits still open.
- **messages / files / whiteboards / calls**: records in the case's chats (within the export's filters).
- **participants**: members of the case's chats and anyone who posted in them, sorted logins.
- **first / last activity**: earliest and latest time among the chats' creation, messages, files,
  whiteboards and call starts and ends.
- **daily / weekly**: messages and active conversations (with at least one message in the period) per
  conversation group (the customer company; a direct chat counts for its creator's group). Days are
  UTC days, weeks start on Monday 00:00 UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from conferencing_widgets.cases.clocks import Clock, Post, case_clocks
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.model import CasePriority, CaseStatus, StatusChange

CASE_COLUMNS = (
    "case_id",
    "number",
    "title",
    "group",
    "status",
    "conversations",
    "messages",
    "files",
    "whiteboards",
    "calls",
    "participants",
    "participant_count",
    "first_activity",
    "last_activity",
    "time_to_first_response",
    "median_response_time",
    "unanswered",
    "priority",
    "first_response_met",
    "time_to_next_response",
    "next_response_met",
    "clock_alert",
    "turn",
    "turn_since",
)
"""Columns of ``Metrics.cases``."""

TIMEDELTA = "timedelta64[us]"
TIMESTAMP = "datetime64[us, UTC]"


@dataclass(frozen=True)
class Metrics:
    """Results of ``export.metrics``."""

    cases: pd.DataFrame
    """One row per service case (``CASE_COLUMNS``)."""
    daily: pd.DataFrame
    """day (UTC midnight), group, messages, active_conversations."""
    weekly: pd.DataFrame
    """week (Monday 00:00 UTC), group, messages, active_conversations."""


def _with_case(frame: pd.DataFrame, conv: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` that belong to a case chat, with their ``case_id``."""
    out = frame.merge(conv[["conversation_id", "case_id"]], on="conversation_id", how="inner")
    return out[out["case_id"].notna()]


def _count(frame: pd.DataFrame, conv: pd.DataFrame) -> pd.Series:
    return _with_case(frame, conv).groupby("case_id").size()


def _activity(frames: Mapping[str, pd.DataFrame], conv: pd.DataFrame, msgs: pd.DataFrame) -> pd.DataFrame:
    stamps = [conv.loc[conv["case_id"].notna(), ["case_id", "created_at"]].rename(columns={"created_at": "at"})]
    stamps.append(msgs[["case_id", "created_at"]].rename(columns={"created_at": "at"}))
    for table, columns in (
        ("files", ["created_at"]),
        ("whiteboards", ["created_at"]),
        ("calls", ["started_at", "ended_at"]),
    ):
        if table not in frames:
            continue
        rows = _with_case(frames[table], conv)
        stamps += [rows[["case_id", col]].rename(columns={col: "at"}) for col in columns]
    allstamps = pd.concat([x.astype({"at": TIMESTAMP}) for x in stamps], ignore_index=True).dropna(subset=["at"])
    grouped = allstamps.groupby("case_id")["at"]
    return pd.DataFrame({"first_activity": grouped.min(), "last_activity": grouped.max()})


def _responses(case_msgs: pd.DataFrame) -> pd.DataFrame:
    """Per case: median response time and unanswered waits (per chat; the clocks are ``_clocks``)."""
    ms = case_msgs.sort_values(["conversation_id", "created_at", "id"], kind="stable")
    vendor = ms["vendor"]
    # Waits: a customer message that starts a chat or follows a vendor message, until the next vendor one.
    previous = vendor.astype("int8").groupby(ms["conversation_id"]).shift(1)
    opens = ~vendor & (previous.isna() | (previous == 1))
    next_vendor = ms["created_at"].where(vendor).groupby(ms["conversation_id"]).bfill()
    waits = pd.DataFrame({"case_id": ms["case_id"], "wait": next_vendor - ms["created_at"]}).loc[opens]
    median = waits.groupby("case_id")["wait"].median().rename("median_response_time")
    unanswered = waits["wait"].isna().groupby(waits["case_id"]).sum().rename("unanswered")
    return pd.concat([median, unanswered], axis=1)


def _met(clock: Clock | None) -> bool | None:
    return None if clock is None else clock.met


def _clocks(
    cases: pd.DataFrame,
    case_msgs: pd.DataFrame,
    history: Mapping[int, Sequence[StatusChange]],
    settings: Settings,
    now: datetime,
) -> pd.DataFrame:
    """The response clocks of each case, by ``cases/clocks.py`` (one call per case: cases are few)."""
    targets, hours = settings.targets(), settings.hours()
    ms = case_msgs.sort_values(["created_at", "id"], kind="stable")
    posts: dict[int, list[Post]] = {}
    for case_id, at, vendor in zip(ms["case_id"], ms["created_at"], ms["vendor"], strict=True):
        posts.setdefault(int(case_id), []).append(Post(at=at.to_pydatetime(), vendor=bool(vendor)))
    rows = []
    for r in cases.itertuples(index=False):
        case_id = int(r.case_id)
        priority = str(r.priority) if pd.notna(r.priority) else CasePriority.NORMAL.value
        created = None if pd.isna(r.created_at) else r.created_at.to_pydatetime()
        clocks = case_clocks(
            status=CaseStatus(str(r.status)),
            posts=posts.get(case_id, []),
            changes=list(history.get(case_id, ())),
            now=now,
            created_at=created,
            targets=targets.get(priority),
            hours=hours,
        )
        first = clocks.first if clocks.first is not None and not clocks.first.open else None
        rows.append(
            {
                "case_id": case_id,
                "time_to_first_response": first.elapsed if first else None,
                "first_response_met": _met(clocks.first),
                "time_to_next_response": clocks.next.elapsed if clocks.next else None,
                "next_response_met": _met(clocks.next),
                "clock_alert": clocks.alert.value,
                "turn": clocks.turn.value if clocks.turn else "",
                "turn_since": clocks.turn_since,
            }
        )
    columns = ["case_id", "time_to_first_response", "first_response_met", "time_to_next_response"]
    columns += ["next_response_met", "clock_alert", "turn", "turn_since"]
    out = pd.DataFrame(rows, columns=columns)
    for col in ("time_to_first_response", "time_to_next_response"):
        out[col] = pd.to_timedelta(out[col].astype(object))  # all-empty columns would otherwise read as dates
    out["turn_since"] = pd.to_datetime(out["turn_since"], utc=True)
    return out.set_index("case_id")


def _per_period(msgs: pd.DataFrame, column: str, freq: str) -> pd.DataFrame:
    day = msgs["created_at"].dt.floor("D")
    period = day if freq == "D" else day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    data = pd.DataFrame({column: period, "group": msgs["group"], "conversation_id": msgs["conversation_id"]})
    out = (
        data.groupby([column, "group"], observed=True)
        .agg(messages=("conversation_id", "size"), active_conversations=("conversation_id", "nunique"))
        .reset_index()
        .sort_values([column, "group"], kind="stable", ignore_index=True)
    )
    return out.astype({column: TIMESTAMP, "messages": "Int64", "active_conversations": "Int64"})


def compute(
    frames: Mapping[str, pd.DataFrame],
    *,
    history: Mapping[int, Sequence[StatusChange]] | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Metrics:
    """Metrics from ``export.frames(...)`` output (needs conversations, messages, members and cases).

    ``history``: each case's status changes (``export.metrics`` reads them); ``settings``: the clock targets and
    business hours; ``now``: the moment open clocks are read at (default: now).
    """
    conv = frames["conversations"].rename(columns={"id": "conversation_id"})
    msgs = frames["messages"]
    msgs = msgs.loc[msgs["kind"].astype("string") != "system"]
    msgs = msgs.merge(conv[["conversation_id", "case_id", "group"]], on="conversation_id", how="inner")
    msgs["vendor"] = (msgs["author_role"].astype("string") != "customer").fillna(False).astype(bool)
    case_msgs = msgs.loc[msgs["case_id"].notna()]

    all_cases = frames["cases"].rename(columns={"id": "case_id"})
    if "priority" not in all_cases:
        all_cases = all_cases.assign(priority=CasePriority.NORMAL.value)
    cases = all_cases[["case_id", "number", "title", "group", "status", "priority"]]
    out = cases.set_index("case_id")
    out["conversations"] = conv.loc[conv["case_id"].notna()].groupby("case_id").size()
    out["messages"] = case_msgs.groupby("case_id").size()
    for table in ("files", "whiteboards", "calls"):
        out[table] = _count(frames[table], conv) if table in frames else 0
    people = pd.concat(
        [
            _with_case(frames["members"], conv)[["case_id", "login"]],
            case_msgs[["case_id", "author"]].rename(columns={"author": "login"}),
        ]
    ).astype({"login": "string"})
    logins = people.drop_duplicates().groupby("case_id")["login"]
    out["participants"] = logins.agg(lambda x: ", ".join(sorted(x)))
    out["participant_count"] = logins.size()
    out = out.join(_activity(frames, conv, case_msgs)).join(_responses(case_msgs))
    moment = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
    out = out.join(_clocks(all_cases, case_msgs, history or {}, settings or Settings(), moment))
    counts = ["conversations", "messages", "files", "whiteboards", "calls", "participant_count", "unanswered"]
    out[counts] = out[counts].fillna(0)
    out = out.reset_index().astype(
        {
            "case_id": "Int64",
            **{c: "Int64" for c in counts},
            "participants": "string[pyarrow]",
            "first_activity": TIMESTAMP,
            "last_activity": TIMESTAMP,
            "time_to_first_response": TIMEDELTA,
            "median_response_time": TIMEDELTA,
            "time_to_next_response": TIMEDELTA,
            "first_response_met": "boolean",
            "next_response_met": "boolean",
            "clock_alert": "string[pyarrow]",
            "turn": "string[pyarrow]",
            "turn_since": TIMESTAMP,
        }
    )
    out["participants"] = out["participants"].fillna("")
    return Metrics(
        cases=out[list(CASE_COLUMNS)],
        daily=_per_period(msgs, "day", "D"),
        weekly=_per_period(msgs, "week", "W"),
    )

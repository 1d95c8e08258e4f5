"""Sample machine logs for the demo and the docs: a spindle-load trace as a controller would export it.

``demo.py`` can share one in a case chat: ``FileService(service).upload_bytes(conv_id, "spindle-load.csv",
spindle_log_csv())``; opened from Details it shows the table preview and its plot.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def spindle_log_csv(rows: int = 600, *, start: datetime | None = None, step_s: int = 5) -> bytes:
    """A semicolon-separated spindle log with decimal commas (as Polish/German controllers write them):
    ``timestamp;spindle_rpm;spindle_load_pct;temperature_c;alarm``, one row every ``step_s`` seconds, with a
    load that climbs, spikes now and then, and the alarm code where it trips. Deterministic (no randomness)."""
    start = start or datetime(2026, 11, 30, 8, 0, 0)
    lines = ["timestamp;spindle_rpm;spindle_load_pct;temperature_c;alarm"]
    for i in range(rows):
        when = start + timedelta(seconds=i * step_s)
        rpm = 8000 if (i // 60) % 2 == 0 else 6000
        wobble = 6 * math.sin(i / 7) + 3 * math.sin(i / 2.3)
        load = 42 + 30 * i / max(rows, 1) + wobble + (28 if i % 97 == 96 else 0)  # a chip jam now and then
        temp = 31 + 12 * i / max(rows, 1) + 0.8 * math.sin(i / 11)
        alarm = "SP-1021 spindle overload" if load > 75 else ""
        lines.append(f"{when:%Y-%m-%d %H:%M:%S};{rpm};{load:.1f};{temp:.1f};{alarm}")
    text = "\n".join(lines) + "\n"
    return _decimal_commas(text).encode("utf-8")


def _decimal_commas(text: str) -> str:
    # Only the numbers' points (never the timestamp's separators, which have none) become commas.
    out = []
    for line in text.splitlines(keepends=True):
        cells = line.rstrip("\n").split(";")
        out.append(";".join(c.replace(".", ",") if c.replace(".", "", 1).isdigit() else c for c in cells) + "\n")
    return "".join(out)


__all__ = ["spindle_log_csv"]

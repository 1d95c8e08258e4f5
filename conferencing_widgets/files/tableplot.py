"""The small plot of a table preview: its first numeric column over its date-time column (or the row number).

Drawn with matplotlib's object API on an Agg canvas (no pyplot: no global figure state in a kernel), as a PNG
with dark text on its own white card, so it reads the same in the light and the dark theme. Axis labels are
the file's own column names; matplotlib draws them as pixels, so nothing of the file reaches the page as markup.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conferencing_widgets.files.tables import TablePreview

PLOT_SIZE = (4.8, 2.2)
"""Inches; shown at 480 x 220 CSS pixels."""
PLOT_DPI = 150
"""Dots per inch: sharp on HiDPI screens, still small (tens of kB)."""
LINE_COLOUR = "#1f5fa8"
TEXT_COLOUR = "#222222"


def _number(cell: str, decimal: str) -> float:
    try:
        return float(cell.strip().replace(",", ".") if decimal == "," else cell.strip())
    except ValueError:
        return math.nan


def plot_png(preview: TablePreview) -> bytes | None:
    """A PNG of the preview's value column, or None when there is nothing to plot (fewer than two values) or the
    values defeat the plotting (a preview never fails because of its plot)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd ranges make matplotlib's locators warn; the plot is still fine
            return _plot(preview)
    except (ValueError, TypeError, OverflowError, RuntimeError):
        return None


def _plot(preview: TablePreview) -> bytes | None:
    from conferencing_widgets.files.tables import plot_times

    if preview.value_column is None:
        return None
    col = preview.value_column
    ys = [_number(r[col], preview.decimal) for r in preview.rows]
    times = plot_times(preview)
    xs: list[Any] = list(times) if times is not None else list(range(1, len(ys) + 1))
    # Missing values and unparsed times (NaT != NaT) are left out.
    points: list[tuple[Any, float]] = [(x, y) for x, y in zip(xs, ys, strict=True) if not math.isnan(y) and x == x]
    if len(points) < 2:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZE, dpi=PLOT_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([p[0] for p in points], [p[1] for p in points], color=LINE_COLOUR, linewidth=1.2)
    ax.set_facecolor("white")
    y_name = preview.columns[col].name or f"#{col + 1}"
    ax.set_ylabel(y_name[:40], color=TEXT_COLOUR, fontsize=8)
    if preview.time_column is not None:
        ax.set_xlabel(
            (preview.columns[preview.time_column].name or f"#{preview.time_column + 1}")[:40],
            color=TEXT_COLOUR,
            fontsize=8,
        )
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.xaxis.get_offset_text().set(fontsize=7, color=TEXT_COLOUR)
    ax.tick_params(colors=TEXT_COLOUR, labelsize=7)
    for spine in ax.spines.values():
        spine.set_color("#888888")
    ax.grid(True, color="#dddddd", linewidth=0.5)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white", bbox_inches="tight", pad_inches=0.08)
    return out.getvalue()


__all__ = ["plot_png"]

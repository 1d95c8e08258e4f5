"""The technician's markup on the machine photo: measuring points, a check box, labels and a sketched curve.

Coordinates are whiteboard page units; the photo has the page's size (``media.PHOTO_SIZE``), so they are the
photo's pixels too.
"""

from __future__ import annotations

import numpy as np

from conferencing_widgets.demo.media import SPINDLE_NOSE, TOOL_HOLDER

RED, BLUE, GREEN, ORANGE = "#e03131", "#1971c2", "#2f9e44", "#f08c00"


def strokes() -> list[dict[str, object]]:
    """Keyword arguments for ``WhiteboardService.add_stroke``, in drawing order."""
    x, y = SPINDLE_NOSE
    x0, y0, x1, y1 = TOOL_HOLDER
    # A hand-drawn vibration trace beside the spindle: a decaying sine with a little wobble.
    t = np.linspace(0, 1, 80)
    trace = np.column_stack([600 + 260 * t, 420 - 40 * np.sin(t * 18) * np.exp(-2 * t) + 3 * np.sin(t * 90)])
    return [
        {"shape": "ellipse", "points": [x - 34, y - 30, x + 34, y + 30], "color": RED, "width": 4},
        {"shape": "arrow", "points": [250, 250, x - 38, y - 6], "color": RED, "width": 3},
        {"shape": "text", "points": [110, 220], "color": RED, "width": 3, "text": "Run-out here: max 2 µm"},
        {"shape": "rect", "points": [x0 - 8, y0 - 8, x1 + 8, y1 + 8], "color": BLUE, "width": 3},
        {"shape": "arrow", "points": [660, 312, x1 + 12, 272], "color": BLUE, "width": 3},
        {"shape": "text", "points": [600, 320], "color": BLUE, "width": 3, "text": "Balance G2.5 @ 8000 rpm"},
        {"shape": "pen", "points": [float(v) for v in trace.ravel()], "color": ORANGE, "width": 3},
        {"shape": "text", "points": [640, 470], "color": ORANGE, "width": 3, "text": "peak ~6600 rpm"},
        {"shape": "line", "points": [150, 540, 850, 540], "color": GREEN, "width": 2},
        {"shape": "text", "points": [160, 548], "color": GREEN, "width": 2, "text": "X travel: check ways after"},
    ]

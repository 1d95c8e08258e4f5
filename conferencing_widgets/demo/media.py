"""The demo's files, drawn and computed here (nothing downloaded): a machine photo, a PDF manual, a spindle log.

All three are deterministic (fixed seeds), so a re-seeded store holds byte-identical content and the blob store
keeps one copy of each. The PDF is vector text and lines from ``pdf.py`` (why not Pillow or matplotlib: there).
"""

from __future__ import annotations

import io

import numpy as np

from conferencing_widgets.demo.pdf import Page, write_pdf

PHOTO_SIZE = (1000, 640)
"""The photo has the whiteboard page's shape, so board coordinates are photo pixels."""
SPINDLE_NOSE = (470, 318)
"""Where the spindle nose is in the photo (the whiteboard marks it)."""
TOOL_HOLDER = (440, 250, 500, 300)
"""The tool holder's box in the photo."""
LOG_RPM = (500, 8000)
"""The speed range the spindle log sweeps."""


def machine_photo() -> bytes:
    """A JPEG "photo" of the VMC-850's work area: enclosure, spindle head, tool, table, vise and part."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    w, h = PHOTO_SIZE
    rng = np.random.default_rng(850)
    # Workshop light: a vertical gradient with a little sensor noise, so it reads as a photo, not a diagram.
    shade = np.linspace(205, 120, h)[:, None, None] * np.array([1.0, 1.0, 1.04])[None, None, :]
    pixels = np.broadcast_to(shade, (h, w, 3)) + rng.normal(0, 4, (h, w, 3))
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.rectangle((60, 40, 940, 600), fill=(92, 98, 104), outline=(40, 44, 48), width=6)  # enclosure
    d.rectangle((90, 70, 910, 570), fill=(58, 63, 68))  # inside the door
    d.rectangle((380, 70, 560, 200), fill=(170, 176, 182), outline=(70, 74, 78), width=3)  # spindle head
    d.rectangle((420, 200, 520, 250), fill=(150, 156, 162), outline=(70, 74, 78), width=2)  # spindle housing
    d.polygon([(440, 250), (500, 250), (490, 300), (450, 300)], fill=(196, 160, 60))  # tool holder
    d.rectangle((462, 300, 478, 345), fill=(210, 214, 220))  # end mill
    d.ellipse((455, 305, 485, 331), outline=(235, 238, 240), width=2)  # spindle nose glint
    d.rectangle((150, 470, 850, 520), fill=(120, 126, 132), outline=(60, 64, 68), width=3)  # table
    for x in range(170, 850, 60):
        d.line((x, 472, x, 518), fill=(88, 92, 96), width=3)  # T-slots
    d.rectangle((380, 400, 560, 470), fill=(40, 84, 150), outline=(24, 50, 90), width=3)  # vise
    d.rectangle((420, 360, 520, 400), fill=(186, 190, 196), outline=(110, 114, 118), width=2)  # workpiece
    d.rectangle((700, 110, 860, 300), fill=(24, 28, 32), outline=(10, 10, 10), width=4)  # HMI
    d.rectangle((715, 125, 845, 215), fill=(30, 120, 90))
    for i in range(4):
        d.line((725, 140 + 18 * i, 725 + 60 + 17 * i, 140 + 18 * i), fill=(200, 240, 220), width=3)
    d.text((400, 86), "MACHTOOL VMC-850", fill=(40, 44, 48), font=ImageFont.load_default(size=15))
    d.text((96, 574), "S/N VMC850-1187", fill=(200, 204, 208), font=ImageFont.load_default(size=14))
    # Coolant spray and swarf: small random streaks.
    for _ in range(120):
        sx, sy = rng.uniform(160, 840), rng.uniform(330, 468)
        d.line((sx, sy, sx + rng.uniform(-6, 6), sy + rng.uniform(2, 8)), fill=(140, 170, 190), width=1)
    img = img.filter(ImageFilter.GaussianBlur(0.7))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)  # a photo: JPEG is ~15x smaller and faster to write than PNG here
    return out.getvalue()


def spindle_log() -> tuple[bytes, np.ndarray]:
    """The HMI's spindle log as CSV (time, speed, load, vibration, temperature), and the array it holds.

    A speed sweep with a resonance above 6000 rpm: vibration rises there, as the case describes.
    """
    rng = np.random.default_rng(1187)
    n = 600
    t = np.arange(n) * 0.5
    rpm = np.round(np.linspace(*LOG_RPM, n) + rng.normal(0, 15, n))
    load = np.round(18 + 0.004 * rpm + rng.normal(0, 1.2, n), 1)
    resonance = 3.0 * np.exp(-(((rpm - 6600) / 450) ** 2))
    vib = np.round(0.6 + 0.00012 * rpm + resonance + np.abs(rng.normal(0, 0.12, n)), 2)
    temp = np.round(24 + 0.0021 * np.cumsum(rpm) / n + rng.normal(0, 0.15, n), 1)
    data = np.column_stack([t, rpm, load, vib, temp])
    # As the HMI exports it: a timestamp per row, so the file's preview plots the vibration over time.
    start = np.datetime64("2026-11-18T09:00:00")
    stamps = np.datetime_as_string(start + (t * 1000).astype("timedelta64[ms]"), unit="s")
    buf = io.StringIO()
    buf.write("timestamp,speed_rpm,load_pct,vibration_mm_s,bearing_temp_c\n")
    for when, row in zip(stamps, data, strict=True):
        buf.write(f"{str(when).replace('T', ' ')},{row[1]:.0f},{row[2]:.1f},{row[3]:.2f},{row[4]:.1f}\n")
    return buf.getvalue().encode("utf-8"), data


MANUAL_PAGES = (
    (
        "VMC-850 Spindle Service Manual",
        [
            "Chapter 7: spindle vibration: causes and checks",
            "",
            "7.1  Symptoms",
            "   Vibration above 2.8 mm/s RMS at the spindle nose, audible hum,",
            "   poor surface finish, chatter marks at high speed.",
            "",
            "7.2  First checks (customer)",
            "   1. Export the spindle log: HMI, Diagnostics, Spindle, Export CSV.",
            "   2. Check the tool holder balance (grade G2.5 at 8000 rpm).",
            "   3. Clean the taper; check the drawbar clamping force (18 kN).",
            "",
            "7.3  Service checks (MachTool technician)",
            "   4. Measure radial run-out at the nose: at most 2 µm.",
            "   5. Bearing condition: temperature rise and noise spectrum.",
            "   6. Replace the front bearing set if run-out or spectrum fail.",
        ],
    ),
    (
        "7.4  Vibration limits",
        [
            "Vibration severity at the spindle nose (ISO 10816-3, group 2):",
            "",
            "   up to 1.4 mm/s    good",
            "   1.4 to 2.8 mm/s   acceptable",
            "   2.8 to 4.5 mm/s   service within two weeks",
            "   above 4.5 mm/s    stop the machine",
            "",
            "The plot shows a typical resonance of a worn front bearing set.",
        ],
    ),
)


def manual_pdf() -> bytes:
    """A two-page PDF service manual: text, the vibration limits and a plot of the log (see ``pdf.py``)."""
    _csv, log = spindle_log()
    pages = []
    for number, (title, lines) in enumerate(MANUAL_PAGES, start=1):
        page = Page()
        page.text(56, 770, title, size=20, bold=True, color="#1c3f66")
        page.text(56, 752, "MachTool Service GmbH · document VMC850-SM-07 · rev. C", size=9, color="#555555")
        page.polyline([(56, 742), (539, 742)], color="#1c3f66", width=1.2)
        for i, line in enumerate(lines):
            page.text(56, 715 - 20 * i, line, size=11)
        if number == 2:
            _plot(page, log[:, 1], log[:, 3])
        page.text(297, 40, f"7-{number}", size=9, color="#555555", center=True)
        pages.append(page)
    return write_pdf(pages, title="VMC-850 Spindle Service Manual")


def _plot(page: Page, rpm: np.ndarray, vib: np.ndarray) -> None:
    """Vibration against speed with the manual's limit lines, in a box of 450 x 280 points."""
    x0, y0, w, h, vmax = 80.0, 150.0, 450.0, 280.0, 6.0

    def xy(r: float, v: float) -> tuple[float, float]:
        return x0 + w * r / LOG_RPM[1], y0 + h * min(v, vmax) / vmax

    page.text(x0 + w / 2, y0 + h + 30, "Vibration against speed (worn bearing set)", size=12, bold=True, center=True)
    page.polyline([(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0)], color="#333333")
    for r in range(0, LOG_RPM[1] + 1, 1000):
        page.polyline([xy(r, 0), (xy(r, 0)[0], y0 - 4)], color="#333333")
        page.text(xy(r, 0)[0], y0 - 16, str(r), size=8, center=True)
    for v in range(int(vmax) + 1):
        page.polyline([(x0 - 4, xy(0, v)[1]), xy(0, v)], color="#333333")
        page.text(x0 - 16, xy(0, v)[1] - 3, str(v), size=8)
    for limit, color in ((1.4, "#2f9e44"), (2.8, "#f08c00"), (4.5, "#e03131")):
        page.polyline([xy(0, limit), xy(LOG_RPM[1], limit)], color=color, dash=True)
    page.polyline([xy(float(r), float(v)) for r, v in zip(rpm, vib, strict=True)], color="#1971c2", width=0.8)
    page.text(x0 + w / 2, y0 - 34, "spindle speed [rpm]", size=10, center=True)
    page.text(x0 - 30, y0 + h + 12, "mm/s RMS", size=9)


def signature() -> list[list[tuple[float, float]]]:
    """A customer's signature on the 480×160 pad: two flowing strokes and an underline."""
    t = np.linspace(0.0, 1.0, 120)
    first = np.column_stack([40 + 170 * t, 95 - 35 * np.sin(6 * np.pi * t) * (1 - 0.6 * t)])
    second = np.column_stack([230 + 150 * t, 90 - 28 * np.sin(5 * np.pi * t + 1.0) * np.exp(-1.5 * t)])
    underline = np.column_stack([50 + 360 * t[::6], 128 + 4 * np.sin(2 * np.pi * t[::6])])
    return [[(round(float(x), 1), round(float(y), 1)) for x, y in part] for part in (first, second, underline)]

"""A minimal PDF writer for the demo manual: text in the standard Helvetica fonts, lines and polylines.

Why not Pillow or matplotlib: Pillow's PDF pages are raster images (blurry when zoomed, ~100 kB a page);
matplotlib's ``PdfPages`` draws vectors but its import alone took 1-10 s on the shared 2-core machine, against a
3 s budget for the whole seeding. Writing the few PDF operators needed here takes milliseconds, keeps text and
plot as vectors (crisp at any zoom, selectable, a few kB) and embeds no font (viewers have Helvetica).
"""

from __future__ import annotations

from collections.abc import Sequence

A4 = (595.0, 842.0)
"""Page size in points."""


def _text(value: str) -> bytes:
    """A PDF string literal in WinAnsi (cp1252) with its delimiters escaped."""
    raw = value.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _rgb(color: str) -> str:
    return " ".join(f"{int(color[i : i + 2], 16) / 255:.3f}" for i in (1, 3, 5))


class Page:
    """Drawing operations of one page; y grows upwards from the bottom edge, in points."""

    def __init__(self) -> None:
        self.ops: list[bytes] = []

    def text(
        self,
        x: float,
        y: float,
        value: str,
        *,
        size: float = 11,
        bold: bool = False,
        color: str = "#000000",
        center: bool = False,
    ) -> None:
        if center:  # Helvetica is about 0.5 em wide per character on average
            x -= 0.25 * size * len(value)
        font = "F2" if bold else "F1"
        self.ops.append(
            f"BT /{font} {size:g} Tf {_rgb(color)} rg {x:.2f} {y:.2f} Td ".encode() + _text(value) + b" Tj ET"
        )

    def polyline(
        self, points: Sequence[tuple[float, float]], *, color: str = "#000000", width: float = 1, dash: bool = False
    ) -> None:
        path = " ".join(f"{x:.2f} {y:.2f} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(points))
        pattern = "[4 3] 0 d" if dash else "[] 0 d"
        self.ops.append(f"{_rgb(color)} RG {width:g} w {pattern} {path} S".encode())


def write_pdf(pages: Sequence[Page], *, title: str) -> bytes:
    """The document's bytes: catalog, page tree, two fonts, one content stream per page, xref and trailer."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the page objects are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _text(title) + b" /Producer (conferencing_widgets demo) >>",
    ]
    kids = []
    for page in pages:
        stream = b"\n".join(page.ops)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] " % A4
            + b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>" % (len(objects))
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)

"""The viewer's HTML for a CSV/TSV file (class ``cw-table-preview``): a summary, the plot (``cw-table-plot``), the
detected columns and types, and the first rows as a table; or the reason it could not be read as one.

Rendered from ``templates/table_preview.html.j2`` with autoescape, so cells holding markup show as text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from conferencing_widgets.core.i18n import _, ngettext, pgettext
from conferencing_widgets.core.markup import safe_filename_display
from conferencing_widgets.files.tables import PREVIEW_ROWS, ColumnKind, TablePreview, unreadable_message
from conferencing_widgets.ui.templates import render

CELL_CHARS = 200
"""Longest cell text shown (the table is a preview; the file holds the rest)."""
HEADER_CHARS = 80
"""Longest column name shown."""


@dataclass(frozen=True, kw_only=True)
class ColumnView:
    """One column as the template shows it."""

    label: str
    """Its name, or "Column N" without a header line."""
    type: str
    """Its detected type in words."""
    numeric: bool
    """Right-aligned cells."""


def kind_label(kind: ColumnKind) -> str:
    """A column type in the active language."""
    return {
        "integer": pgettext("column type", "whole number"),
        "number": pgettext("column type", "number"),
        "datetime": pgettext("column type", "date and time"),
        "boolean": pgettext("column type", "yes/no"),
        "text": pgettext("column type", "text"),
        "empty": pgettext("column type", "empty"),
    }[kind]


def delimiter_label(delimiter: str) -> str:
    """A delimiter in words."""
    return {
        "\t": pgettext("delimiter", "tabs"),
        ";": pgettext("delimiter", "semicolons"),
        ",": pgettext("delimiter", "commas"),
        "|": pgettext("delimiter", "vertical bars"),
    }.get(delimiter, delimiter)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_preview_html(preview: TablePreview, name: str) -> str:
    """Safe HTML of a table preview of the file ``name``."""
    shown_name = safe_filename_display(name, HEADER_CHARS)
    if preview.problem is not None:
        return render("files/templates/table_preview.html.j2", problem=unreadable_message(shown_name, preview.problem))
    columns = [
        ColumnView(
            label=_short(c.name, HEADER_CHARS) or _("Column {n}").format(n=i + 1),
            type=kind_label(c.kind),
            numeric=c.kind in ("integer", "number"),
        )
        for i, c in enumerate(preview.columns)
    ]
    n = len(preview.rows)
    if preview.more:
        rows_text = ngettext(
            "The first {n} row; download the file for the rest.",
            "The first {n} rows; download the file for the rest.",
            n,
        ).format(n=n)
    else:
        rows_text = ngettext("{n} row.", "{n} rows.", n).format(n=n)
    summary = " ".join(
        (
            rows_text,
            ngettext("{n} column", "{n} columns", len(columns)).format(n=len(columns)),
            _("separated by {delimiter}.").format(delimiter=delimiter_label(preview.delimiter)),
        )
    )
    plot_uri = plot_alt = ""
    if preview.plot_png and preview.value_column is not None:
        plot_uri = "data:image/png;base64," + base64.b64encode(preview.plot_png).decode("ascii")
        value = columns[preview.value_column].label
        if preview.time_column is not None:
            plot_alt = _("{value} over {time}, first {n} rows").format(
                value=value, time=columns[preview.time_column].label, n=min(n, PREVIEW_ROWS)
            )
        else:
            plot_alt = _("{value} by row number, first {n} rows").format(value=value, n=min(n, PREVIEW_ROWS))
    rows = [[_short(cell, CELL_CHARS) for cell in row] for row in preview.rows]
    return render(
        "files/templates/table_preview.html.j2",
        problem="",
        summary=summary,
        plot_uri=plot_uri,
        plot_alt=plot_alt,
        columns=columns,
        rows=rows,
    )


__all__ = ["ColumnView", "delimiter_label", "kind_label", "table_preview_html"]

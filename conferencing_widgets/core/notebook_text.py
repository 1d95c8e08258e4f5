"""The notebooks' visible text in other languages: Babel extraction from ``.ipynb`` files and translated copies.

A Markdown cell is translated paragraph by paragraph (paragraphs are split on blank lines; a paragraph keeps its
inner line breaks, so a bullet list without blank lines is one msgid). Code cells carry their own ``_()`` calls,
which run in the language the first code cell sets with ``LANGUAGE = "en"``. The translated copy of
``notebooks/<name>.ipynb`` is ``notebooks/<lang>/<name>.ipynb``, written by::

    python -m conferencing_widgets.core.notebook_text [notebooks]

(``make messages`` runs it after compiling the catalogues). The copies are committed; a test fails when one is stale.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

from conferencing_widgets.core.i18n import LANGUAGES, translations

_BLANK_LINES = re.compile(r"(\n[ \t]*\n\s*)")
"""One or more blank lines; split() keeps them (at odd positions) so a translated cell keeps its layout."""
_LANGUAGE_LINE = re.compile(r'^LANGUAGE = "en"(?P<rest>.*)$', re.MULTILINE)
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
"""nbval compares the stored outputs of these cells: they print only language-neutral data, so the copies keep them."""

Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(text: str) -> list[str]:
    """``text`` as nbformat stores a cell's source: lines that keep their ``\\n``."""
    return text.splitlines(keepends=True)


def paragraphs(markdown: str) -> list[str]:
    """The paragraphs of a Markdown cell, each stripped of surrounding whitespace (inner line breaks kept)."""
    return [part.strip() for part in _BLANK_LINES.split(markdown)[::2] if part.strip()]


def translate_markdown(markdown: str, gettext: Callable[[str], str]) -> str:
    """``markdown`` with each paragraph passed through ``gettext``; blank lines and indentation stay as they were."""
    out = []
    for position, part in enumerate(_BLANK_LINES.split(markdown)):
        text = part.strip()
        if position % 2 or not text:
            out.append(part)
            continue
        start = part.index(text)
        out.append(part[:start] + gettext(text) + part[start + len(text) :])
    return "".join(out)


def markdown_paragraphs(notebook: Mapping[str, Any]) -> list[str]:
    """Every Markdown paragraph of a notebook, in order."""
    return [p for cell in notebook["cells"] if cell["cell_type"] == "markdown" for p in paragraphs(_source(cell))]


def extract_notebook(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[Extracted]:
    """Babel extraction method (``babel.cfg``: ``[extractors] ipynb = ...``): Markdown paragraphs as msgids, and
    the ``_()`` / ``ngettext()`` calls of code cells as the Python extractor finds them. Line numbers are cells'."""
    from babel.messages.extract import extract_python

    notebook = json.loads(fileobj.read().decode("utf-8"))
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] == "markdown":
            for paragraph in paragraphs(_source(cell)):
                yield number, None, paragraph, []
        elif cell["cell_type"] == "code":
            code = io.BytesIO(_source(cell).encode("utf-8"))
            # Babel annotates extract_python with its public result type; it yields (line, funcname, message, comments).
            for raw in extract_python(code, keywords, comment_tags, cast(Any, options)):
                _line, funcname, message, comments = cast(Extracted, raw)
                yield number, funcname, message, comments


def translate_notebook(source: Path, lang: str) -> dict[str, Any]:
    """The notebook at ``source`` in ``lang``: Markdown paragraphs through the catalogue, ``LANGUAGE = "<lang>"``
    in the first code cell, outputs cleared except those nbval checks (their data is the same in every language)."""
    notebook: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    gettext = translations(lang).gettext
    first_code = True
    for cell in notebook["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            cell["source"] = _lines(translate_markdown(text, gettext))
        elif cell["cell_type"] == "code":
            if first_code:
                text, found = _LANGUAGE_LINE.subn(lambda m: f'LANGUAGE = "{lang}"{m["rest"]}', text, count=1)
                if not found:
                    raise ValueError(f'{source}: the first code cell has no line `LANGUAGE = "en"`')
                cell["source"] = _lines(text)
                first_code = False
            if not text.startswith(CHECK_OUTPUT):
                cell["outputs"], cell["execution_count"] = [], None
    return notebook


def dumps(notebook: Mapping[str, Any]) -> str:
    """A notebook as Jupyter writes it (so the English files and their copies diff cleanly)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def copies(folder: Path) -> dict[Path, dict[str, Any]]:
    """Every translated copy of the notebooks in ``folder``: ``<folder>/<lang>/<name>.ipynb`` -> its content."""
    return {
        folder / lang / source.name: translate_notebook(source, lang)
        for source in sorted(folder.glob("*.ipynb"))
        for lang in LANGUAGES[1:]
    }


def write_copies(folder: Path) -> list[Path]:
    """(Re)write the translated copies of the notebooks in ``folder``; returns the files written."""
    written = []
    for target, notebook in copies(folder).items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(notebook), encoding="utf-8")
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the translated copies of the notebooks (notebooks/<lang>/).")
    parser.add_argument("folder", nargs="?", default="notebooks", type=Path, help="the English notebooks' folder")
    for path in write_copies(parser.parse_args(argv).folder):
        print(path)


if __name__ == "__main__":
    main()

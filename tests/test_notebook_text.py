"""The notebooks in Polish: every Markdown paragraph is translated, the committed copies in ``notebooks/pl/`` are what
``translate_notebook`` writes now, and ``make messages`` extracts the notebooks' texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch

from conferencing_widgets.core.i18n import LOCALE_DIR
from conferencing_widgets.core.notebook_text import (
    dumps,
    markdown_paragraphs,
    paragraphs,
    translate_markdown,
    translate_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ENGLISH = sorted(NOTEBOOKS.glob("*.ipynb"))
REGENERATE = "python -m conferencing_widgets.core.notebook_text (or `make messages`)"
METHOD = "conferencing_widgets.core.notebook_text:extract_notebook"


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _catalogue(path: Path) -> dict[Any, Any]:
    with path.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


def _extracted(path: Path) -> list[Any]:
    with path.open("rb") as fh:
        return [message for _line, message, _comments, _context in extract(METHOD, fh, DEFAULT_KEYWORDS)]


def test_both_notebooks_are_covered() -> None:
    assert [p.name for p in ENGLISH] == ["analyst_export.ipynb", "case_review.ipynb"]
    assert sorted(p.name for p in (NOTEBOOKS / "pl").glob("*.ipynb")) == [p.name for p in ENGLISH]


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.name)
def test_every_markdown_paragraph_has_a_polish_translation(notebook: Path) -> None:
    polish = _catalogue(LOCALE_DIR / "pl" / "LC_MESSAGES" / "conferencing.po")
    found = markdown_paragraphs(_load(notebook))
    assert len(found) >= 8 and found[0].startswith("# ")
    missing = [p for p in found if not polish.get(p)]
    assert not missing, (
        f"add these paragraphs of {notebook.name} to the .pot and translate them in the pl .po: {missing}"
    )


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.name)
def test_the_polish_copy_is_up_to_date(notebook: Path) -> None:
    copy = NOTEBOOKS / "pl" / notebook.name
    assert copy.read_text(encoding="utf-8") == dumps(translate_notebook(notebook, "pl")), (
        f"{copy.relative_to(ROOT)} is stale (the notebook or the catalogue changed): run {REGENERATE}"
    )


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.name)
def test_the_polish_copy_has_no_english_paragraph_and_runs_in_polish(notebook: Path) -> None:
    copy = _load(NOTEBOOKS / "pl" / notebook.name)
    english = set(markdown_paragraphs(_load(notebook)))
    polish = markdown_paragraphs(copy)
    assert len(polish) == len(markdown_paragraphs(_load(notebook)))
    assert not english & set(polish), english & set(polish)
    first_code = next("".join(c["source"]) for c in copy["cells"] if c["cell_type"] == "code")
    assert 'LANGUAGE = "pl"' in first_code and "set_language(LANGUAGE)" in first_code
    assert any("ś" in p or "ą" in p or "ę" in p for p in polish), "Polish with its diacritics"


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.name)
def test_the_extractor_yields_the_paragraphs_and_the_code_cells_texts(notebook: Path) -> None:
    messages = _extracted(notebook)
    assert set(markdown_paragraphs(_load(notebook))) <= set(messages)
    code_texts = [m for m in messages if m not in markdown_paragraphs(_load(notebook))]
    assert code_texts, "the _() calls of the code cells are extracted too"
    template = _catalogue(LOCALE_DIR / "conferencing.pot")
    polish = _catalogue(LOCALE_DIR / "pl" / "LC_MESSAGES" / "conferencing.po")
    missing = [m for m in messages if m not in template or not all(polish.get(m) or [""])]
    assert not missing, f"not in the .pot or not translated in the pl .po: {missing}"


def test_the_extractor_finds_known_texts_of_each_kind() -> None:
    analyst = _extracted(NOTEBOOKS / "analyst_export.ipynb")
    review = _extracted(NOTEBOOKS / "case_review.ipynb")
    assert "## Save to Parquet" in analyst and "Messages per day by customer group" in analyst
    assert ("{n} conversation:", "{n} conversations:") in review


def test_babel_cfg_extracts_the_english_notebooks_only() -> None:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, _options = parse_mapping_cfg(fh, "babel.cfg")
    methods = [(pattern, method) for pattern, method in method_map if method == METHOD]
    assert methods, "babel.cfg registers the notebook extractor"
    pattern = methods[0][0]
    assert pathmatch(pattern, "notebooks/case_review.ipynb")
    assert not pathmatch(pattern, "notebooks/pl/case_review.ipynb"), "the translated copies are not extracted"


def test_paragraphs_keep_their_inner_line_breaks_and_the_layout_survives() -> None:
    text = "# Title\n\nFirst line\nsecond line\n\n\n- item\n  more\n- item two\n"
    assert paragraphs(text) == ["# Title", "First line\nsecond line", "- item\n  more\n- item two"]
    upper = translate_markdown(text, str.upper)
    assert upper == "# TITLE\n\nFIRST LINE\nSECOND LINE\n\n\n- ITEM\n  MORE\n- ITEM TWO\n"


def _notebook(tmp_path: Path, first_code: str) -> Path:
    output = {"name": "stdout", "output_type": "stream", "text": ["x\n"]}
    cells = [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["## Metrics"]},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1, "outputs": [output],
         "source": [first_code]},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 2, "outputs": [output],
         "source": ["# NBVAL_CHECK_OUTPUT\n", "print(1)"]},
    ]  # fmt: skip
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_translate_notebook_sets_the_language_and_keeps_only_checked_outputs(tmp_path: Path) -> None:
    polish = translate_notebook(_notebook(tmp_path, 'LANGUAGE = "en"  # or "pl"\nset_language(LANGUAGE)'), "pl")
    markdown, first, checked = polish["cells"]
    assert markdown["source"] == ["## Metryki"]
    assert first["source"] == ['LANGUAGE = "pl"  # or "pl"\n', "set_language(LANGUAGE)"]
    assert first["outputs"] == [] and first["execution_count"] is None
    # nbval compares this cell's stored output, which is the same data in every language.
    assert checked["outputs"] and checked["execution_count"] == 2


def test_translate_notebook_refuses_a_notebook_without_the_language_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LANGUAGE"):
        translate_notebook(_notebook(tmp_path, "import pandas"), "pl")


def test_the_regenerate_command_writes_the_copies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conferencing_widgets.core.notebook_text import main

    source = _notebook(tmp_path, 'LANGUAGE = "en"')
    main([str(tmp_path)])
    assert _load(tmp_path / "pl" / source.name)["cells"][0]["source"] == ["## Metryki"]
    assert capsys.readouterr().out.split() == [str(tmp_path / "pl" / source.name)]

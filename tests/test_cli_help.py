"""``conferencing --help`` and every ``conferencing <command> --help`` in the shell's language."""

from __future__ import annotations

from collections.abc import Iterator
from inspect import cleandoc
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, check_and_call_extract_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from click.formatting import wrap_text
from click.testing import CliRunner

from conferencing_widgets.cli import main
from conferencing_widgets.cli_help import CLICK_TEXTS, help_messages, help_pieces, help_texts
from conferencing_widgets.core.i18n import LOCALE_DIR, set_language

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["", *sorted(main.commands)]
KEYWORDS = {**DEFAULT_KEYWORDS, "tr": None}

# `conferencing --help` and `conferencing serve --help` before help went through the catalogue.
ENGLISH_MAIN = """\
Usage: main [OPTIONS] COMMAND [ARGS]...

  Chat, whiteboards, files and video calls for service cases.

  Example:
    conferencing demo            # seed demo data and serve the dashboards

Options:
  -h, --help  Show this message and exit.

Commands:
  demo        Seed demo data (idempotent), print signed links, then serve...
  export      Export conversations, members, messages, files, whiteboards,...
  init        Create or upgrade the store's schema.
  link        Print a signed dashboard link for USER.
  load        Create or update groups, users and cases from a YAML or JSON...
  serve       Serve the dashboards with Voila until Ctrl-C (uses the...
  transcript  Write a readable transcript of a conversation, or of every...
  users       List users with login, display name, group and role.
"""
ENGLISH_SERVE = """\
Usage: main serve [OPTIONS]

  Serve the dashboards with Voila until Ctrl-C (uses the repository's
  voila.json).

  Example:
    conferencing serve --port 8866
    conferencing serve --ip 10.0.0.11 --port 8866           # behind a proxy on another host
    conferencing link alice --base-url http://127.0.0.1:8866   # in another shell

Options:
  --store TEXT            Store URL (default: CONFERENCING_STORE or SQLite in
                          the data folder).
  --port INTEGER          Port for Voila.  [default: 8866]
  --ip TEXT               Address to listen on; a private address when a proxy
                          on another host forwards to this server.  [default:
                          127.0.0.1]
  --dashboards DIRECTORY  Folder of dashboard notebooks (default: ./dashboards).
  -h, --help              Show this message and exit.
"""


@pytest.fixture(autouse=True)
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only LANG names the language; English again afterwards (the CLI sets the process-wide language)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    yield
    set_language(None)


def help_page(command: str, lang: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LANG", lang)
    result = CliRunner().invoke(main, [*command.split(), "--help"], terminal_width=80, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    return " ".join(text.split())


def messages_of(command: str) -> list[str]:
    """The English sentences on a command's help page: its help, its options' help, click's own texts."""
    cmd = main.commands[command] if command else main
    texts = (cmd.help, *(param.help for param in cmd.params if hasattr(param, "help")))
    return [*(m for text in texts for m in help_messages(text)), *CLICK_TEXTS, "Usage:"]


@pytest.mark.parametrize("command", COMMANDS)
def test_polish_help_has_no_english_sentence_left(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    english = flat(help_page(command, "C.UTF-8", monkeypatch))
    polish = flat(help_page(command, "pl_PL.UTF-8", monkeypatch))
    found = [m for m in messages_of(command) if flat(m) in english]
    assert len(found) >= 3, found  # the check below looks for sentences that the English page does show
    assert [m for m in found if flat(m) in polish] == []
    assert polish.startswith("Użycie: main ") and "Opcje:" in polish and "Wyświetla tę pomoc" in polish


def test_english_help_is_what_click_printed_before(monkeypatch: pytest.MonkeyPatch) -> None:
    help_page("", "pl_PL.UTF-8", monkeypatch)  # a Polish run first: the language is chosen on every run
    assert help_page("", "C.UTF-8", monkeypatch) == ENGLISH_MAIN
    assert help_page("serve", "en_GB.UTF-8", monkeypatch) == ENGLISH_SERVE


def test_polish_short_help_lists_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    page = help_page("", "pl_PL.UTF-8", monkeypatch)
    listing = page.partition("Polecenia:\n")[2].splitlines()
    assert [line.split()[0] for line in listing] == sorted(main.commands)
    assert "  init        Tworzy lub aktualizuje schemat magazynu danych." in listing


def test_example_blocks_stay_blocks_with_their_comments_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    serve = help_page("serve", "pl_PL.UTF-8", monkeypatch).splitlines()
    start = serve.index("  Przykład:")
    assert serve[start - 1] == "" and serve[start + 1 : start + 4] == [
        "    conferencing serve --port 8866",
        "    conferencing serve --ip 10.0.0.11 --port 8866           # za proxy na innym hoście",
        "    conferencing link alice --base-url http://127.0.0.1:8866   # w innej powłoce",
    ]
    load = help_page("load", "pl_PL.UTF-8", monkeypatch)
    assert (
        "  Plik zawiera trzy listy, każda jest opcjonalna:\n"
        "    groups: [{id: acme, name: ACME, is_vendor: false}]\n"
        "    users:  [{login: alice, display_name: Alice, group: acme, role: customer}]\n"
    ) in load
    for command in COMMANDS:
        assert "\b" not in help_page(command, "pl_PL.UTF-8", monkeypatch), command


def test_pieces_rebuild_each_help_text_as_click_prints_it() -> None:
    for cmd in (main, *main.commands.values()):
        pieces = list(help_pieces(cmd.help))
        rebuilt = "".join(piece for _translatable, piece in pieces)
        assert wrap_text(rebuilt, preserve_paragraphs=True) == wrap_text(
            cleandoc(cmd.help or ""), preserve_paragraphs=True
        )
        assert not any("\b" in piece or piece.startswith("  conferencing") for ok, piece in pieces if ok), cmd.name


def test_babel_extracts_the_help_texts_and_polish_translates_them() -> None:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    extracted = {
        message
        for source in ("conferencing_widgets/cli.py", "conferencing_widgets/cli_help.py")
        for _f, _l, message, _c, _ctx in check_and_call_extract_file(
            ROOT / source, method_map, options_map, None, KEYWORDS, (), False, dirpath=ROOT
        )
    }
    wanted = {message for _line, message in help_texts(main)} | {"Usage:", "default: {default}", "required"}
    assert wanted <= extracted, wanted - extracted
    assert "Store ready: {url}" in extracted  # cli.py's _() calls are still extracted
    with (LOCALE_DIR / "conferencing.pot").open("rb") as fh:
        template = read_po(fh)
    with (LOCALE_DIR / "pl" / "LC_MESSAGES" / "conferencing.po").open("rb") as fh:
        polish = read_po(fh)
    assert [m for m in sorted(wanted) if m not in template] == []
    untranslated = [m for m in sorted(wanted) if m not in polish or not polish[m].string or polish[m].fuzzy]
    assert untranslated == []

"""No English left in Polish: every area of the app rendered under ``language("pl")`` is searched for English words.

The English words come from the catalogue itself (the words of every msgid that no Polish translation uses), so a
new user-visible string that is not wrapped with ``_()`` - or wrapped but not translated - fails here. The world is
built with Polish data, so user content never looks like a missing translation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import ipywidgets as w
import pytest
from babel.messages.pofile import read_po

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.i18n import LOCALE_DIR, language
from conferencing_widgets.core.model import ConversationKind, NewMessage, Role
from conferencing_widgets.session import Session
from conferencing_widgets.store import Store
from conferencing_widgets.ui.app import ConferencingApp
from conferencing_widgets.ui.whiteboard.feature import whiteboard_page
from conferencing_widgets.voila.dashboard import conferencing_dashboard

pytestmark = pytest.mark.filterwarnings("ignore:Widget.widgets is deprecated")
PO = LOCALE_DIR / "pl" / "LC_MESSAGES" / "conferencing.po"
WORD = re.compile(r"[^\W\d_]{3,}")
# Not translations: the language switch names each language in itself; search filter keywords are syntax.
ALLOWED = {"english", "from", "case", "after", "before", "has", "file", "whiteboard", "mention"}
# Neither Polish nor English words, in a translation or on the page: placeholders and code, such as
# CONFERENCING_STORE or conferencing_widgets.export.api.frames(service=...) in the CLI's help.
CODE = re.compile(r"\{[^}]*\}|\S*\w[._(]\w\S*")
# Sync state that holds words for people (the rest are ids, CSS values, code and data).
TEXT_KEYS = {
    "description", "tooltip", "placeholder", "_options_labels", "heading", "empty_text", "hint", "label",
    "title", "mode_cancel", "camera_label", "message", "error", "tabs",
}  # fmt: skip
ROW_TEXT_KEYS = {"html", "status_label", "turn_label", "clock_label", "mentions_title", "preview"}


def _catalogue() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    with PO.open("rb") as fh:
        cat = read_po(fh, locale="pl")
    pairs = []
    for m in cat:
        if m.id:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strs = m.string if isinstance(m.string, tuple) else (m.string,)
            pairs.append((ids, strs))
    return pairs


def english_words() -> set[str]:
    """Words of the English msgids that no Polish msgstr contains (placeholders removed)."""
    english: set[str] = set()
    polish: set[str] = set()
    for ids, strs in _catalogue():
        for text in ids:
            english |= {x.lower() for x in WORD.findall(re.sub(r"\{[^}]*\}", " ", text))}
        for text in strs:
            polish |= {x.lower() for x in WORD.findall(CODE.sub(" ", text))}
    return english - polish - ALLOWED


class _Text(HTMLParser):
    """The text of HTML as a person meets it: the text nodes and the title/aria-label/alt/placeholder values."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("title", "aria-label", "alt", "placeholder") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _texts(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, str):
        yield visible_text(value) if "<" in value else value
    elif isinstance(value, dict):
        for k, v in value.items():
            if key in ("strings", "labels", "tabs", "rows", "tiles", "results") and k == "locale":
                continue
            if key in ("rows", "tiles", "results") and k not in ROW_TEXT_KEYS:
                continue
            yield from _texts(v, key)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v, key)


def widget_texts(widgets: list[w.Widget]) -> list[tuple[str, str]]:
    """(widget class, text) of everything the widgets show: HTML values, labels, tooltips and the views' words."""
    found = []
    for widget in widgets:
        state = widget.get_state()
        for key, value in state.items():
            text_key = key in TEXT_KEYS or key in ("strings", "labels", "rows", "tiles", "results")
            if key == "value" and isinstance(widget, (w.HTML, w.Label)):
                text_key = True
            if text_key:
                found += [(f"{type(widget).__name__}.{key}", t) for t in _texts(value, key)]
        if isinstance(widget, ConferencingApp):
            # Rows appended after the window was sent live in the Python window, not in the synced state.
            found += [("stream.window", t) for t in _texts(widget.messages.stream.window, "rows")]
    return found


def english_left(widgets: list[w.Widget], words: set[str]) -> list[str]:
    left = []
    for where, text in widget_texts(widgets):
        hits = sorted({x for x in WORD.findall(CODE.sub(" ", text)) if x.lower() in words})
        if hits:
            left.append(f"{where}: {hits} in {text[:160]!r}")
    return left


def seed_polish_world(store: Store) -> dict[str, int]:
    """A vendor, a customer company, a case with its chat and a direct chat - all with Polish content (customers
    ``zofia`` and ``jan``, technician ``tomasz``); returns the chats' ids by ``case`` / ``direct``."""
    store.create_schema()
    store.add_group(id="obr", name="Obrabiarki Serwis Sp. z o.o.", is_vendor=True)
    store.add_group(id="odl", name="Odlewnia Śląsk S.A.")
    store.add_user(login="tomasz", display_name="Tomasz Wiśniewski", group_id="obr", role=Role.TECHNICIAN)
    store.add_user(login="zofia", display_name="Zofia Nowak", group_id="odl", role=Role.CUSTOMER)
    store.add_user(login="jan", display_name="Jan Kowalski", group_id="odl", role=Role.CUSTOMER)
    case = store.add_case(
        number="SR-2026-00100", title="Drgania wrzeciona", group_id="odl", machine_model="VMC-850",
        machine_serial="VMC850-0001", technicians=["tomasz"],
    )  # fmt: skip
    case_chat = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="Drgania wrzeciona", created_by="zofia", members=["tomasz"],
        case_id=case.id,
    )  # fmt: skip
    direct = store.create_conversation(
        kind=ConversationKind.DIRECT, title="Narada", created_by="zofia", members=["jan"]
    )
    for i, (author, body) in enumerate([("zofia", "Dzień dobry, wrzeciono drga."), ("tomasz", "Proszę o zdjęcie.")]):
        store.post_message(NewMessage(conversation_id=case_chat.id, body=body, client_id=f"c{i}"), author=author)
    store.post_message(NewMessage(conversation_id=direct.id, body="Cześć @jan", client_id="d0"), author="zofia")
    return {"case": case_chat.id, "direct": direct.id}


@pytest.fixture()
def polish_world(tmp_path: Any) -> Iterator[tuple[Store, dict[str, int]]]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store, seed_polish_world(store)
    store.close()


def _created_during(before: set[str]) -> list[w.Widget]:
    return [x for k, x in list(w.Widget.widgets.items()) if k not in before]


def test_the_catalogue_yields_english_words_to_look_for() -> None:
    words = english_words()
    # The check below is only as good as this list: the UI's common words are in it, Polish ones are not.
    assert {"conversation", "message", "cancel", "history", "details", "create", "join"} <= words
    assert not {"rozmowa", "tablica", "wiadomości"} & words


@pytest.mark.parametrize("login", ["zofia", "tomasz"])
def test_a_polish_app_has_no_english_left(polish_world: tuple[Store, dict[str, int]], login: str) -> None:
    store, chats = polish_world
    words = english_words()
    before = set(w.Widget.widgets)
    with language("pl"):
        session = Session(None, store, login)
        app = ConferencingApp(session, live=False)
        try:
            app.open_conversation(chats["case"])
            assert app.conversation is not None, "the case chat opens for a member"
            app.messages.toggle_plus_menu(True)
            app.history.dialog.show()
            app.history.dialog.kind.value = ConversationKind.SERVICE_CASE.value  # its case field and hint too
            board = session.boards.create(chats["case"])
            app.messages.catch_up()
            app.details.refresh_section("whiteboards")
            page = whiteboard_page(session.boards, board.id)
            missing = whiteboard_page(session.boards, 999_999)
            assert "cw-wb" in str(page.get_state()) or page.children, "the whiteboard page renders"
            widgets = _created_during(before)
            left = english_left(widgets, words)
            assert not left, "English left in the Polish app:\n" + "\n".join(left)
            # The check sees the translated words (it would see English ones).
            seen = " ".join(t for _k, t in widget_texts(widgets))
            for polish in ("Konferencje", "Historia rozmów", "Utwórz konwersację", "Sesja z tablicą",
                           "Prześlij nowy plik", "Rozmowa dotycząca zapytania serwisowego"):  # fmt: skip
                assert polish in seen
            page.close()
            missing.close()
        finally:
            app.close()


def test_the_same_check_finds_english_in_an_english_app(polish_world: tuple[Store, dict[str, int]]) -> None:
    store, chats = polish_world
    before = set(w.Widget.widgets)
    app = ConferencingApp(Session(None, store, "zofia"), live=False)
    try:
        app.open_conversation(chats["direct"])
        app.history.dialog.show()
        left = english_left(_created_during(before), english_words())
        assert any("Create Conversation" in line for line in left)
        assert any("Direct chat" in line for line in left)
    finally:
        app.close()


def test_the_denied_page_speaks_the_links_language(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path, store=f"sqlite:///{tmp_path / 'store.db'}", secret="s" * 32)
    words = english_words()
    before = set(w.Widget.widgets)
    with language("en"):
        page = conferencing_dashboard("lang=pl&token=tampered", settings=settings)
        assert "cw-denied" in page._dom_classes
        widgets = _created_during(before)
        text = " ".join(t for _k, t in widget_texts(widgets))
        assert "Nie można otworzyć tego linku" in text and "nieprawidłowy" in text
        assert not english_left(widgets, words), english_left(widgets, words)
        page.close()
    with language("en"):
        english = conferencing_dashboard("", settings=settings)
        assert "This link has no access token" in " ".join(t for _k, t in widget_texts(list(english.children)))
        english.close()


def test_every_text_of_the_views_js_is_translated() -> None:
    # The call page, the redirect and the viewer are not all built above: check their tr() texts directly.
    from conferencing_widgets.core.i18n import _
    from conferencing_widgets.ui.strings import ASSETS, js_messages, js_strings

    sources = {p.name: p.read_text(encoding="utf-8") for p in ASSETS.glob("*.js")}
    texts = {name: js_messages(src) for name, src in sources.items()}
    assert {"call.js", "upload.js", "viewer.js", "video.js", "whiteboard_new.js"} <= {n for n, t in texts.items() if t}
    with language("pl"):
        untranslated = [(name, m) for name, ms in texts.items() for m in ms if _(m) == m]
        strings = js_strings(ASSETS / "call.js")
    assert not untranslated, untranslated
    assert strings["locale"] == "pl-PL" and strings["Join call"] == "Dołącz do połączenia"
    assert js_strings(ASSETS / "call.js")["locale"] == "", "English follows the browser's locale"


def test_an_html_transcript_has_polish_headings(polish_world: tuple[Store, dict[str, int]]) -> None:
    from conferencing_widgets.transcript import render as transcript

    store, chats = polish_world
    with language("pl"):
        page = transcript.render(store, [chats["case"]], fmt="html")
    assert "Zapis rozmowy: Drgania wrzeciona" in page and "Wiadomości (2)" in page and "Brak plików." in page
    assert "Transcript:" not in page and "No files." not in page
    assert "Transcript: Drgania wrzeciona" in transcript.render(store, [chats["case"]], fmt="html")


# -- the services' error messages (what the error line of an area shows) ---------------------------------------


def _service_errors(store: Store, chats: dict[str, int]) -> dict[str, str]:
    """A selection of refusals from the chat, file, case, whiteboard, store and transcript layers: name -> message."""
    from conferencing_widgets.core.errors import ConferencingError
    from conferencing_widgets.transcript.loading import document_for_service

    zofia, tomasz = Session(None, store, "zofia"), Session(None, store, "tomasz")
    board = tomasz.boards.create(chats["case"]).id
    attempts = {
        "too long": lambda: zofia.chat.post(chats["case"], "x" * (zofia.settings.max_message_chars + 1)),
        "no conversation": lambda: zofia.chat.conversation(999_999),
        "unknown kind": lambda: zofia.chat.create_conversation(kind="group", title="Narada", members=["jan"]),
        "unknown user": lambda: zofia.chat.create_conversation(kind="direct", title="Narada", members=["nikt"]),
        "empty title": lambda: zofia.chat.create_conversation(kind="direct", title=" ", members=["jan"]),
        "empty file": lambda: zofia.files.check_upload(chats["case"], "zdjęcie.png", 0),
        "bad size": lambda: zofia.files.check_upload(chats["case"], "zdjęcie.png", "dużo"),
        "no file": lambda: zofia.files.attachment(999_999),
        "case status": lambda: tomasz.cases.set_status(zofia.chat.conversation(chats["case"]).case_id or 0, "zrobione"),
        "colour": lambda: tomasz.boards.add_stroke(board, "pen", [0, 0, 5, 5], color="zielony", width=2),
        "width": lambda: tomasz.boards.add_stroke(board, "pen", [0, 0, 5, 5], color="#1971c2", width=500),
        "outside": lambda: tomasz.boards.add_stroke(board, "pen", [0, 0, 9e9, 5], color="#1971c2", width=2),
        "no board": lambda: tomasz.boards.board(999_999),
        "no user": lambda: store.get_user("nikt"),
        "no case": lambda: store.get_case_by_number("SR-0000-00000"),
        "transcript": lambda: document_for_service(zofia.chat, "SR-0000-00000"),
    }
    found = {}
    for name, attempt in attempts.items():
        try:
            attempt()
        except ConferencingError as exc:
            found[name] = str(exc)
        else:
            raise AssertionError(f"{name}: no error")
    return found


def test_service_errors_speak_polish(polish_world: tuple[Store, dict[str, int]]) -> None:
    store, chats = polish_world
    words = english_words()
    with language("pl"):
        polish = _service_errors(store, chats)
    # Quoted parts are the input echoed back or values to type ('direct', 'resolved'), not words to translate.
    left = {k: v for k, v in polish.items() if {x.lower() for x in WORD.findall(re.sub(r"'[^']*'", " ", v))} & words}
    assert not left, left
    english = _service_errors(store, chats)
    assert english["no conversation"] == "No conversation 999999."
    assert english["unknown kind"] == "Unknown conversation kind 'group': use 'direct' or 'service_case'."
    assert polish["unknown kind"] == "Nieznany rodzaj rozmowy 'group': użyj 'direct' lub 'service_case'."
    assert all(polish[k] != english[k] for k in english), "every one of them is translated"

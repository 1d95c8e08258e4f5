"""Search and mentions: the query parser, both backends, rights inside the query, hostile input, snippets.

The seeded world (tests/support.py): alice, adam (ACME) and tom in ``acme_case_chat``; bella, tina, erik in
``borg_case_chat``; engineers (erik) and admins read every case chat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pandas as pd
import pytest
from sqlalchemy import update
from support import World, load_xss_payloads

from conferencing_widgets import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.chat.cleaning import clean_body
from conferencing_widgets.core.mentions import mentioned_logins
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.core.search import fold, parse_query, snippet, stem
from conferencing_widgets.store import schema

HOSTILE = ['"', "*", '"spindle', "spin*", "NEAR(spindle vibrates)", "spindle NEAR/2 log", "body:spindle", ":",
           "a:b:c", "spindle OR 1=1", "'; DROP TABLE messages; --", "spindle' OR '1'='1", "\\", "(", ")", "^spindle",
           "-spindle", "spindle & log | !x", "<-> :* !", "{body}: spindle", "\x00spindle", "%", "_"]  # fmt: skip


# -- the parser ---------------------------------------------------------------------------------------


def test_parser_splits_words_and_filters() -> None:
    q = parse_query('Wrzeciono drga from:@tom in:"ACME team" case:SR-1001 after:2026-01-02 before:2026-02-01 '
                    "has:file is:mention")  # fmt: skip
    assert q.terms == ("wrzecion", "drga")
    assert q.authors == ("tom",) and q.conversations == ("ACME team",) and q.cases == ("SR-1001",)
    assert q.after == datetime(2026, 1, 2, tzinfo=UTC) and q.before == datetime(2026, 2, 1, tzinfo=UTC)
    assert q.has == ("file",) and q.mentions_me


def test_folding_and_stems_match_polish_inflections() -> None:
    assert fold("Łożysko ŻÓŁĆ Straße") == "lozysko zolc straße"
    assert stem("wrzeciono") == "wrzecion" and "wrzeciona".startswith(stem("wrzeciono"))
    assert stem("awaria") == "awar" and "awarii".startswith(stem("awaria"))
    assert stem("silnik") == "silnik" and stem("oleju") == "olej"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_becomes_plain_words(text: str) -> None:
    q = parse_query(text)
    for term in q.terms:
        assert term.isalnum(), term  # nothing but letters and digits ever reaches MATCH / to_tsquery


@pytest.mark.parametrize(
    ("text", "error"),
    [("after:yesterday", InvalidInput), ("before:2026-13-01", InvalidInput), ("has:cake", InvalidInput),
     ("is:urgent", InvalidInput), ("x" * 10_000, LimitExceeded),
     (" ".join(f"w{i}x" for i in range(13)), LimitExceeded)],
)  # fmt: skip
def test_bad_filters_say_what_works(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_query(text)


def test_mentions_skip_code_and_mail_addresses() -> None:
    text = "@tom and @tina. mail x@erik.com, `@ada` ```\n@adam\n``` @Alice-"
    assert mentioned_logins(text) == ["tom", "tina", "Alice"]


def test_snippet_escapes_first_then_marks() -> None:
    q = parse_query("spindle")
    out = snippet('<b onclick="x">Spindle</b> & <i>spindles</i>', q)
    expected = "&lt;b onclick=&quot;x&quot;&gt;<mark>Spindle</mark>&lt;/b&gt; &amp; "
    assert out == expected + "&lt;i&gt;<mark>spindles</mark>&lt;/i&gt;"
    long = "word " * 200 + "spindle here " + "tail " * 100
    cut = snippet(long, q)
    assert "<mark>spindle</mark>" in cut and cut.startswith("\u2026") and cut.endswith("\u2026") and len(cut) < 260


# -- searching, on both backends ------------------------------------------------------------------------


def ids(rows: list[dict]) -> list[int]:
    return [r["message_id"] for r in rows]


def test_search_finds_accents_and_inflections_newest_first(seeded: World) -> None:
    w = seeded
    alice = w.service("alice")
    a = alice.post(w.acme_case_chat, "Łożysko wrzeciona drga przy 6000 obr.")
    b = alice.post(w.acme_case_chat, "Wymieniliśmy wrzeciono, żółć.")
    assert ids(alice.search("wrzeciono")) == [b.id, a.id]
    assert ids(alice.search("lozysko")) == [a.id]
    assert ids(alice.search("ŁOŻYSKO drga")) == [a.id]
    assert ids(alice.search("zolc")) == [b.id]
    assert ids(alice.search("wrzeciono", limit=1)) == [b.id]
    assert ids(alice.search("wrzeciono", before_id=b.id)) == [a.id]
    rows = alice.search("wrzeciono")
    assert rows[0]["conversation"] == "Spindle" and rows[0]["author_name"] == "Alice Moreau"
    assert "<mark>wrzeciono</mark>" in rows[0]["snippet"]
    frame = pd.DataFrame(rows)
    assert list(frame["message_id"]) == [b.id, a.id] and "snippet" in frame.columns


def test_each_filter(seeded: World) -> None:
    w = seeded
    alice, tom, adam = w.service("alice"), w.service("tom"), w.service("adam")
    m1 = alice.post(w.acme_case_chat, "gearbox noise, @tom please look")
    m2 = tom.post(w.acme_case_chat, "gearbox oil changed")
    m3 = adam.post(w.acme_direct, "gearbox invoice")
    assert ids(alice.search("gearbox")) == [m3.id, m2.id, m1.id]
    assert ids(alice.search("gearbox from:tom")) == [m2.id]
    assert ids(alice.search("gearbox", author="tom")) == [m2.id]
    assert ids(alice.search(f"gearbox in:{w.acme_direct}")) == [m3.id]
    assert ids(alice.search('gearbox in:"acme team"')) == [m3.id]
    assert ids(alice.search("gearbox case:sr-1001")) == [m2.id, m1.id]
    assert ids(tom.search("is:mention")) == [m1.id] and ids(alice.search("is:mention")) == []
    assert ids(tom.search("gearbox", mentions_me=True)) == [m1.id]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert ids(alice.search(f"gearbox after:{tomorrow}")) == []
    assert ids(alice.search(f"gearbox before:{tomorrow}")) == [m3.id, m2.id, m1.id]
    with w.store.atomic() as conn:  # has:file / has:whiteboard select message kinds
        conn.execute(update(schema.messages).where(schema.messages.c.id == m2.id).values(kind="file"))
    assert ids(alice.search("has:file")) == [m2.id] and ids(alice.search("gearbox has:whiteboard")) == []


def test_newest_id_windows_give_the_same_pages(seeded: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL searches every case chat in the newest ids first (store.search.PG_WINDOWS): tiny windows here, so
    # some pages fill inside one, some need a wider one or none, and all must equal the plain query's pages.
    from conferencing_widgets.store import search as store_search

    w = seeded
    alice, bella = w.service("alice"), w.service("bella")
    posted = []
    for i in range(9):
        posted.append(alice.post(w.acme_case_chat, f"gearbox {i}").id)
        bella.post(w.borg_case_chat, f"bearing {i}" if i % 3 else f"gearbox borg {i}")
    erik = w.service("erik")  # engineer: every case chat
    cases = [("gearbox", {}), ("gearbox", {"limit": 2}), ("gearbox", {"limit": 3, "before_id": posted[5]}),
             ("borg gearbox", {"limit": 2}), ("gearbox borg", {"limit": 20}), ("zzqx", {})]  # fmt: skip
    expected = [ids(erik.search(text, **kw)) for text, kw in cases]
    assert expected[0][:2] == expected[1] and len(expected[0]) == 12 and expected[-1] == []
    monkeypatch.setattr(store_search, "PG_WINDOWS", (2, 5))
    assert [ids(erik.search(text, **kw)) for text, kw in cases] == expected
    assert ids(alice.search("gearbox", limit=2)) == posted[:-3:-1]  # a member scope is never windowed


def test_rights_are_inside_the_query(seeded: World) -> None:
    w = seeded
    w.service("bella").post(w.borg_case_chat, "secret coolant formula")
    w.service("tina").post(w.vendor_direct, "secret staff plan")
    assert w.service("alice").search("secret") == []
    assert w.service("alice").search("secret case:SR-2001") == []
    assert w.service("alice").search(f"secret in:{w.borg_case_chat}") == []
    assert [r["conversation_id"] for r in w.service("erik").search("secret")] == [w.borg_case_chat]  # engineer
    assert [r["conversation_id"] for r in w.service("tina").search("secret")] == [w.vendor_direct, w.borg_case_chat]
    adam = w.service("adam")
    w.store.set_user_disabled("adam", True)
    with pytest.raises(PermissionDenied):
        adam.search("secret")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_find_nothing_or_say_so(seeded: World, text: str) -> None:
    w = seeded
    before = w.snapshot()
    try:
        rows = w.service("alice").search(text)
    except InvalidInput as exc:
        assert "search" in str(exc).lower()
    else:
        assert {r["conversation_id"] for r in rows} <= {w.acme_case_chat, w.acme_direct}
    assert w.snapshot() == before


def test_empty_and_huge_queries_are_clear_errors(seeded: World) -> None:
    alice = seeded.service("alice")
    for text in ("", "   ", "a", '"" * :'):
        with pytest.raises(InvalidInput, match="Nothing to search for"):
            alice.search(text)
    with pytest.raises(LimitExceeded, match="limit is 500"):
        alice.search("x" * 10_000)


def test_the_index_follows_edits_and_deletes_of_the_body(seeded: World) -> None:
    """Slice A edits and deletes by changing ``messages.body`` (and ``deleted``): nothing else to call."""
    w = seeded
    alice = w.service("alice")
    m = alice.post(w.acme_case_chat, "hydraulic pump leaks")
    with w.store.atomic() as conn:
        conn.execute(update(schema.messages).where(schema.messages.c.id == m.id).values(body="pneumatic valve"))
    assert alice.search("hydraulic") == [] and ids(alice.search("pneumatic")) == [m.id]
    with w.store.atomic() as conn:
        conn.execute(update(schema.messages).where(schema.messages.c.id == m.id).values(body="", deleted=True))
    assert alice.search("pneumatic") == []


def test_xss_catalogue_through_search_snippets(seeded: World) -> None:
    w = seeded
    alice = w.service("alice")
    for payload in load_xss_payloads():
        # Straight into the store: some payloads hold "@word", which the post path refuses as a non-member mention.
        body = clean_body(f"zebrafish {payload}", 10_000)  # as the post path cleans it (no NUL)
        w.store.post_message(NewMessage(conversation_id=w.acme_direct, body=body), author="alice")
    rows: list[dict] = []
    while page := alice.search("zebrafish", limit=100, before_id=rows[-1]["message_id"] if rows else None):
        rows += page
    assert len(rows) == len(load_xss_payloads())
    assert rows
    for row in rows:
        tags = _tags(row["snippet"])
        assert set(tags) <= {"mark"}, (row["snippet"], tags)


def _tags(fragment: str) -> list[str]:
    found: list[str] = []

    class Walker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            assert not attrs, fragment
            found.append(tag)

    Walker().feed(fragment)
    return found


# -- mentions -------------------------------------------------------------------------------------------


def test_only_members_can_be_mentioned_and_nothing_is_written_otherwise(seeded: World) -> None:
    w = seeded
    alice = w.service("alice")
    before = w.snapshot()
    for text in ("hi @bella", "hi @ghost", "hi @dora", "hi @erik", "@tom @tina"):  # other company, unknown,
        with pytest.raises(InvalidInput, match="is not a member of this conversation"):  # disabled, non-members
            alice.post(w.acme_case_chat, text)
    assert w.snapshot() == before
    # The same words for an unknown login and a foreign one: nothing to learn about other companies.
    msgs = []
    for who in ("bella", "ghost"):
        with pytest.raises(InvalidInput) as info:
            alice.post(w.acme_case_chat, f"@{who}")
        msgs.append(str(info.value).replace(who, "X"))
    assert msgs[0] == msgs[1]
    m = alice.post(w.acme_case_chat, "@tom and @adam, look")
    assert w.store.mentions_of([m.id]) == {m.id: ["adam", "tom"]}


def test_mention_candidates_are_members_only(seeded: World) -> None:
    w = seeded
    alice = w.service("alice")
    assert [u.login for u in alice.mention_candidates(w.acme_case_chat)] == ["adam", "tom"]
    assert [u.login for u in alice.mention_candidates(w.acme_case_chat, "@Bec")] == ["tom"]
    assert alice.mention_candidates(w.acme_case_chat, "bel") == []
    with pytest.raises(NotFound):
        alice.mention_candidates(w.borg_case_chat, "")


def test_unread_mentions_count_until_read_and_stay_private(seeded: World) -> None:
    w = seeded
    alice, tom = w.service("alice"), w.service("tom")
    alice.post(w.acme_case_chat, "@tom one")
    m2 = alice.post(w.acme_case_chat, "@tom two")
    assert tom.unread_mentions([w.acme_case_chat, w.borg_case_chat]) == {w.acme_case_chat: 2}
    assert w.service("adam").unread_mentions([w.acme_case_chat]) == {}
    assert w.service("bella").unread_mentions([w.acme_case_chat]) == {}  # not readable: nothing
    assert [s.conversation.id for s in tom.mention_history()] == [w.acme_case_chat]
    assert w.service("bella").mention_history() == []
    tom.mark_read(w.acme_case_chat, m2.id)
    assert tom.unread_mentions([w.acme_case_chat]) == {}


def test_replace_mentions_is_the_edit_and_delete_hook(seeded: World) -> None:
    w = seeded
    m = w.service("alice").post(w.acme_case_chat, "@tom look")
    w.store.replace_mentions(m.id, ["adam"])
    assert w.store.mentions_of([m.id]) == {m.id: ["adam"]}
    w.store.replace_mentions(m.id, [])
    assert w.store.mentions_of([m.id]) == {}


def test_messages_around_opens_a_hit_in_context(seeded: World) -> None:
    w = seeded
    alice = w.service("alice", posts_per_minute=10_000)
    posted = [alice.post(w.acme_direct, f"line {i}") for i in range(80)]
    target = posted[40]
    window = alice.messages_around(target.id, conversation_id=w.acme_direct, before=10, after=10)
    got = [m.id for m in window]
    assert target.id in got and got == sorted(got) and len(got) == 21
    assert got.index(target.id) == 10
    with pytest.raises(NotFound):
        alice.messages_around(target.id, conversation_id=w.acme_case_chat)  # in another conversation
    with pytest.raises(NotFound):
        w.service("bella").messages_around(target.id, conversation_id=w.acme_direct)


def test_words_inside_file_names_paths_and_addresses_are_found(seeded: World) -> None:
    """Both backends split at punctuation alike (PostgreSQL's parser would keep ``log-42.txt`` as one token)."""
    w = seeded
    alice = w.service("alice")
    m = alice.post(w.acme_direct, "Shared a file: zlogq-x42y.txt, see /var/spool_qdir and opsq@examplq.com")
    for word in ("x42y", "zlogq", "spool", "qdir", "examplq", "opsq"):
        assert ids(alice.search(word)) == [m.id], word


def test_conversation_tokens_of_the_index_are_not_words(seeded: World) -> None:
    """SQLite's index holds ``c<conversation id>`` tokens for members' searches: a query never matches them."""
    w = seeded
    assert w.service("alice").search(f"c{w.acme_case_chat}") == []
    assert w.service("erik").search(f"c{w.acme_case_chat}") == []


def test_edits_and_deletes_keep_mentions_true(seeded: World) -> None:
    w = seeded
    alice = w.service("alice")
    m = alice.post(w.acme_direct, "hello @adam")
    assert w.store.mentions_of([m.id]) == {m.id: ["adam"]}
    alice.edit_message(m.id, "hello everyone")
    assert w.store.mentions_of([m.id]) == {}
    alice.edit_message(m.id, "hello again @adam")
    assert w.store.mentions_of([m.id]) == {m.id: ["adam"]}
    before = w.snapshot()
    with pytest.raises(InvalidInput):
        alice.edit_message(m.id, "and @bella")  # not a member: refused, nothing written
    assert w.snapshot() == before
    alice.delete_message(m.id)
    assert w.store.mentions_of([m.id]) == {}

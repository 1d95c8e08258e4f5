"""DDL of the full-text index of message bodies, one per backend (revision 0009 and ``schema.py`` share it).

The index follows ``messages.body`` by itself, so edits and deletes (which blank the body) need no extra call:

- **SQLite**: an FTS5 table ``messages_fts`` (``unicode61 remove_diacritics 2``, contentless: the text lives only
  in ``messages``; snippets are cut in Python) kept by triggers on INSERT, UPDATE OF body and DELETE of
  ``messages``. ``unicode61`` does not fold ``ł``/``đ``/``ø`` (no Unicode decomposition), so the triggers index
  ``replace(...)``-folded text; the query side folds the same way (``core.search.fold``).
- **PostgreSQL**: a stored generated column ``search_vector`` = ``cw_search_vector(body)`` with a GIN index;
  ``cw_search_vector`` is an IMMUTABLE wrapper of
  ``to_tsvector('simple', unaccent(body))`` (``unaccent`` when the extension can be created, else a
  ``translate`` of the common Latin accents). Punctuation becomes spaces first, so the parser sees only words, as
  SQLite's ``unicode61`` does (otherwise ``log-42.txt`` is one "file" token and ``42`` finds nothing). Being
  generated from ``body``, it follows every body change. (A bare expression index made the planner re-parse
  bodies row by row when it walked messages newest first: seconds per search on 1,000,000 messages.)
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection, text

FTS_TABLE = "messages_fts"
PG_INDEX = "ix_messages_search"
PG_FUNCTION = "cw_search_vector"
PG_COLUMN = "search_vector"
"""PostgreSQL only, beside the metadata: ``messages.search_vector``, generated from ``body`` and stored, so a plan
that checks rows one by one (newest first, a member's conversations) reads it instead of re-parsing the body."""

_FOLD_PAIRS = (("ł", "l"), ("Ł", "L"), ("đ", "d"), ("Đ", "D"), ("ø", "o"), ("Ø", "O"))


def sqlite_fold(expr: str) -> str:
    """SQL folding the letters ``unicode61`` keeps (``ł`` ...) in ``expr``; must match ``core.search.FOLD_TABLE``."""
    for a, b in _FOLD_PAIRS:
        expr = f"replace({expr}, '{a}', '{b}')"
    return expr


SQLITE_DDL = [
    # ``conv`` holds one token per message, ``c<conversation id>``: a member's search can then intersect the hit
    # lists with its own conversations inside FTS5 (``conv : (c1 OR c2 ...)``) instead of visiting every hit.
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, conv, content='', tokenize='unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO {FTS_TABLE}(rowid, body, conv)
            VALUES (new.id, {sqlite_fold("new.body")}, 'c' || new.conversation_id);
    END""",
    f"""CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, conv)
            VALUES ('delete', old.id, {sqlite_fold("old.body")}, 'c' || old.conversation_id);
        INSERT INTO {FTS_TABLE}(rowid, body, conv)
            VALUES (new.id, {sqlite_fold("new.body")}, 'c' || new.conversation_id);
    END""",
    f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, body, conv)
            VALUES ('delete', old.id, {sqlite_fold("old.body")}, 'c' || old.conversation_id);
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

_PG_ACCENTS = "ąćęłńóśźżáàâäãåéèêëíìîïñòôöõúùûüýÿçčďěňřšťůžøđ"
_PG_ACCENTS += _PG_ACCENTS.upper()
_PG_PLAIN = "".join(unicodedata.normalize("NFKD", dict(_FOLD_PAIRS).get(ch, ch))[0] for ch in _PG_ACCENTS)


def _pg_function(with_unaccent: bool) -> str:
    folded = (
        "public.unaccent('public.unaccent'::regdictionary, $1)"
        if with_unaccent
        else f"translate($1, '{_PG_ACCENTS}', '{_PG_PLAIN}')"
    )
    return (
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}(text) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS "
        f"$$ SELECT to_tsvector('simple'::regconfig, regexp_replace({folded}, '[[:punct:]]+', ' ', 'g')) $$"
    )


def _pg_try_unaccent(conn: Connection) -> bool:
    """Create the ``unaccent`` extension if we may; whether it is there."""
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"))
    except Exception:  # noqa: BLE001 - no right to create extensions: fall back to translate()
        pass
    found = conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'")).scalar_one()
    return int(found) > 0


def create(conn: Connection) -> None:
    """Create the index on the connection's backend (existing messages are indexed too)."""
    if conn.dialect.name == "sqlite":
        for stmt in SQLITE_DDL:
            conn.exec_driver_sql(stmt)
        conn.exec_driver_sql(
            f"INSERT INTO {FTS_TABLE}(rowid, body, conv) "
            f"SELECT id, {sqlite_fold('body')}, 'c' || conversation_id FROM messages"
        )
    else:
        conn.execute(text(_pg_function(_pg_try_unaccent(conn))))
        conn.execute(
            text(
                f"ALTER TABLE messages ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS ({PG_FUNCTION}(body)) STORED"
            )
        )
        conn.execute(text(f"CREATE INDEX {PG_INDEX} ON messages USING gin ({PG_COLUMN})"))


def drop(conn: Connection) -> None:
    """Drop the index (the ``unaccent`` extension stays: others may use it)."""
    if conn.dialect.name == "sqlite":
        for stmt in SQLITE_DROP:
            conn.exec_driver_sql(stmt)
    else:
        conn.execute(text(f"DROP INDEX IF EXISTS {PG_INDEX}"))
        conn.execute(text(f"ALTER TABLE messages DROP COLUMN IF EXISTS {PG_COLUMN}"))
        conn.execute(text(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(text)"))

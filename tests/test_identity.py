"""Signed dashboard links: round trip, and every kind of bad token is an ``InvalidLink``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from support import World

from conferencing_widgets import InvalidInput, InvalidLink, Store
from conferencing_widgets.core.identity import (
    dashboard_url,
    make_token,
    param_from_query,
    parse_duration,
    read_token,
    token_from_query,
    user_from_token,
)

SECRET = "s3cret-for-tests"
HOUR = timedelta(hours=1)


def test_round_trip() -> None:
    token = make_token("alice", SECRET, HOUR)
    assert read_token(token, SECRET) == "alice"
    assert read_token(make_token("zoë.müller", SECRET, HOUR), SECRET) == "zoë.müller"


def test_tampered_token() -> None:
    token = make_token("alice", SECRET, HOUR)
    payload, _, signature = token.rpartition(".")
    forged_payload = make_token("ada", SECRET, HOUR).rpartition(".")[0]
    # Flip the first character: the last one of unpadded base64 carries only 2 bits of the signature, so changing it
    # can decode to the same bytes and the "tampered" token is still valid (this test failed now and then).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (forged_payload + "." + signature, payload + "." + flipped, token + "x", "x" + token):
        with pytest.raises(InvalidLink, match="not valid"):
            read_token(bad, SECRET)


def test_truncated_token() -> None:
    token = make_token("alice", SECRET, HOUR)
    for cut in (1, 5, len(token) // 2, len(token) - 1):
        with pytest.raises(InvalidLink):
            read_token(token[:cut], SECRET)


def test_expired_token() -> None:
    now = time.time()
    token = make_token("alice", SECRET, timedelta(minutes=30), now=now)
    assert read_token(token, SECRET, now=now + 29 * 60) == "alice"
    with pytest.raises(InvalidLink, match="expired"):
        read_token(token, SECRET, now=now + 31 * 60)


def test_wrong_secret() -> None:
    token = make_token("alice", SECRET, HOUR)
    with pytest.raises(InvalidLink):
        read_token(token, "another-secret")
    with pytest.raises(InvalidLink, match="secret"):
        read_token(token, "")  # no secret configured: no link is valid


def test_missing_or_oversized_token() -> None:
    for bad in (None, "", "a" * 5000, "not-a-token", "e30.e30"):
        with pytest.raises(InvalidLink):
            read_token(bad, SECRET)


def test_user_from_token(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    seed(sqlite_store)
    assert user_from_token(sqlite_store, make_token("alice", SECRET, HOUR), SECRET).login == "alice"
    with pytest.raises(InvalidLink, match="unknown account"):
        user_from_token(sqlite_store, make_token("ghost", SECRET, HOUR), SECRET)
    with pytest.raises(InvalidLink, match="disabled"):
        user_from_token(sqlite_store, make_token("dora", SECRET, HOUR), SECRET)
    # An account disabled after the link was sent is refused too.
    token = make_token("adam", SECRET, HOUR)
    sqlite_store.set_user_disabled("adam", True)
    with pytest.raises(InvalidLink, match="disabled"):
        user_from_token(sqlite_store, token, SECRET)


def test_dashboard_url_and_query_parsing() -> None:
    url = dashboard_url("http://127.0.0.1:8866/", "alice", SECRET, HOUR, conversation=7)
    parts = urlsplit(url)
    assert parts.path == "/voila/render/conferencing.ipynb"
    assert read_token(token_from_query(parts.query), SECRET) == "alice"
    assert param_from_query("?" + parts.query, "conversation") == "7"
    assert parse_qs(parts.query)["token"][0] == token_from_query(parts.query)
    assert token_from_query("token=a&token=b") is None  # ambiguous: refuse
    assert token_from_query("other=1") is None


def test_parse_duration() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration(" 12h ") == timedelta(hours=12)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("90") == timedelta(seconds=90)
    for bad in ("", "0", "0d", "-1h", "7 days", "abc", "1.5h"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)

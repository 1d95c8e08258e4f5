"""Ids from pages, links and callers are range-checked in one place (``store.schema.RowId``) on both backends.

An id beyond 64 bits used to raise ``OverflowError`` on SQLite and ``DataError`` on PostgreSQL; it must read as
"no such thing", like any other id nobody may see, and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import World

from conferencing_widgets.core.errors import NotFound
from conferencing_widgets.session import Session

HUGE = [2**63, 2**64 + 5, 10**30, -(2**63) - 1, -(10**30)]


@pytest.mark.parametrize("huge", HUGE)
def test_out_of_range_ids_are_not_found_everywhere(seeded: World, huge: int) -> None:
    session = Session.of_service(seeded.service("alice"))
    before = seeded.snapshot()
    lookups: list[Callable[[], object]] = [
        lambda: session.chat.conversation(huge),
        lambda: session.chat.post(huge, "hello"),
        lambda: session.chat.mark_read(huge),
        lambda: session.files.attachment(huge),
        lambda: session.boards.board(huge),
        lambda: session.calls.call(huge),
        lambda: seeded.store.get_message(huge),
        lambda: seeded.store.get_case(huge),
    ]
    for lookup in lookups:
        with pytest.raises(NotFound):
            lookup()
    assert seeded.snapshot() == before


def test_feed_positions_beyond_64_bits_find_nothing(seeded: World) -> None:
    assert seeded.store.changes(after=2**70) == []
    assert len(seeded.store.changes(after=-(2**70))) == len(seeded.store.changes(after=0))

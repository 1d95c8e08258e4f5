"""Search use cases: parse the query, search what this user may read, and open a hit in context.

The rights filter is part of the store's query (``policy.read_scope`` -> ``store/scope.py``), so neither the
rows nor their number can include a conversation the user may not read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import plain_preview
from conferencing_widgets.core.search import SearchQuery, parse_query, snippet, with_filters

if TYPE_CHECKING:
    from conferencing_widgets.core.model import Conversation, User
    from conferencing_widgets.store import Store

MAX_RESULTS = 100


class SearchUseCases:
    """Search, composed into the chat ``Service``."""

    if TYPE_CHECKING:  # provided by ``Service``
        store: Store
        user: User

        @property
        def login(self) -> str: ...
        def require_active(self) -> User: ...
        def require_readable(self, conversation_id: int) -> Conversation: ...

    def parse_search(self, text: str = "", **filters: Any) -> SearchQuery:
        """The parsed query (``InvalidInput`` when it is empty or malformed)."""
        query = with_filters(parse_query(text), **filters)
        if query.is_empty:
            raise InvalidInput(_("Nothing to search for. Type a word (two letters or more) or a filter like from:tom."))
        return query

    def search(
        self,
        text: str = "",
        *,
        conversation: int | str | None = None,
        author: str | None = None,
        case: str | None = None,
        after: date | datetime | str | None = None,
        before: date | datetime | str | None = None,
        has: str | None = None,
        mentions_me: bool | None = None,
        limit: int = 20,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Messages this user may read that match, newest first: a DataFrame-friendly list of dicts.

        ``text`` takes words and filters (``spindle from:tom case:SR-1001 after:2026-01-01 has:file
        is:mention in:12``); the keyword arguments add the same filters. Page on with ``before_id`` = the last
        ``message_id`` shown. Each dict: ``message_id``, ``conversation_id``, ``conversation``, ``author``,
        ``author_name``, ``created_at``, ``kind``, ``text`` (plain preview) and ``snippet`` (safe HTML, hits in
        ``<mark>``). ``pd.DataFrame(service.search("spindle"))`` works.
        """
        self.require_active()
        query = self.parse_search(
            text, conversation=conversation, author=author, case=case, after=after, before=before, has=has,
            mentions_me=mentions_me,
        )  # fmt: skip
        rows = self.store.search_messages(
            policy.read_scope(self.user),
            query,
            limit=max(1, min(int(limit), MAX_RESULTS)),
            before_id=None if before_id is None else int(before_id),
        )
        return [
            {
                "message_id": r.message_id,
                "conversation_id": r.conversation_id,
                "conversation": r.conversation_title,
                "author": r.author,
                "author_name": r.author_name,
                "created_at": r.created_at,
                "kind": r.kind,
                "text": plain_preview(r.body, limit=200),
                "snippet": snippet(r.body, query),
            }
            for r in rows
        ]

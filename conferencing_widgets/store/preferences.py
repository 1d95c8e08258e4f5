"""Queries of ``user_preferences``: a user's own choices, as plain ``{key: value}`` records."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import StoreBase


def preferences(store: StoreBase, login: str) -> dict[str, str]:
    """Every preference ``login`` has set (keys absent here take their defaults)."""
    p = s.user_preferences
    with store.reading() as conn:
        rows = conn.execute(select(p.c.key, p.c.value).where(p.c.login == login)).all()
    return {str(k): str(v) for k, v in rows}


def set_preference(store: StoreBase, login: str, key: str, value: str | None) -> None:
    """Set ``key`` for ``login`` (None removes it, so the default applies again)."""
    p = s.user_preferences
    mine = (p.c.login == login) & (p.c.key == key)
    with store.atomic() as conn:
        if value is None:
            conn.execute(delete(p).where(mine))
        elif conn.execute(update(p).where(mine).values(value=value)).rowcount == 0:
            conn.execute(insert(p).values(login=login, key=key, value=value))

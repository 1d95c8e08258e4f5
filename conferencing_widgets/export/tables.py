"""The exported tables: one definition of each table's columns, Arrow types and categories.

Every reader and writer works from these schemas (the Parquet files carry exactly them), and the pandas
dtypes and categories of ``frames`` come from here too. The SQL that reads each table is in ``store.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import CasePriority, CaseStatus, ConversationKind, MessageKind, Role

if TYPE_CHECKING:
    import pandas as pd

TABLES: tuple[str, ...] = ("conversations", "members", "messages", "files", "whiteboards", "calls", "cases")
"""Every exported table, in export order."""

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
INT = pa.int64()
BOOL = pa.bool_()
FLOAT = pa.float64()

USERS_SCHEMA = pa.schema([("login", STR), ("group_id", STR), ("role", STR)])
"""The users lookup read before messages (author_group and author_role are joined in Arrow)."""

# Fixed categories (plus anything unexpected found in the data, so no value is ever lost).
_KNOWN_CATEGORIES: dict[str, list[str]] = {
    "kind:conversations": [k.value for k in ConversationKind],
    "kind:messages": [k.value for k in MessageKind],
    "role": [r.value for r in Role],
    "author_role": [r.value for r in Role],
    "status": [c.value for c in CaseStatus],
    "priority": [p.value for p in CasePriority],
}


class Lookups:
    """Small dimension tables read once per export (first, in the same snapshot) and joined in Arrow."""

    def __init__(self) -> None:
        self._users: dict[str, pa.Array] | None = None

    def load_users(self, batches: Iterable[pa.RecordBatch]) -> None:
        table = pa.Table.from_batches(list(batches), schema=USERS_SCHEMA)
        self._users = {k: table[k].combine_chunks() for k in USERS_SCHEMA.names}

    def users(self) -> dict[str, pa.Array]:
        if self._users is None:
            raise RuntimeError("users were not read before messages")  # a bug in the job order, not user input
        return self._users


Derive = Callable[[Mapping[str, pa.Array], Lookups], dict[str, pa.Array]]


@dataclass(frozen=True, kw_only=True)
class Table:
    """One exported table: its Arrow schema, its categorical columns and its columns computed in Arrow."""

    name: str
    schema: pa.Schema
    """The exported columns, in order, with their Arrow types."""
    categories: tuple[str, ...] = ()
    """Columns that become pandas categoricals in ``frames``."""
    empty_is_null: tuple[str, ...] = ()
    """SQLite only: text columns read as COALESCE(x, '') and turned back to null (see ``store.py``)."""
    derive: Derive | None = None
    """Columns computed from the read ones (not selected in SQL)."""


def _derive_messages(cols: Mapping[str, pa.Array], lookups: Lookups) -> dict[str, pa.Array]:
    users = lookups.users()
    idx = pc.index_in(cols["author"], value_set=users["login"])
    return {
        "author_group": users["group_id"].take(idx),
        "author_role": users["role"].take(idx),
        "edited": pc.is_valid(cols["edited_at"]),
        # Internal notes (kind ``note``) are vendor-only; customers' exports never hold them (export/store.py).
        "internal": pc.equal(cols["kind"], "note"),
    }


def _derive_calls(cols: Mapping[str, pa.Array], _lookups: Lookups) -> dict[str, pa.Array]:
    micros = pc.subtract(cols["ended_at"].cast(INT), cols["started_at"].cast(INT))
    return {"duration_seconds": pc.divide(micros.cast(FLOAT), 1_000_000.0)}


def _derive_cases(cols: Mapping[str, pa.Array], _lookups: Lookups) -> dict[str, pa.Array]:
    logins = cols["technicians"].to_pylist()  # one short string per case: a small table
    return {"technicians": pa.array([",".join(sorted(x.split(","))) if x else "" for x in logins], STR)}


SPECS: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="conversations",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("kind", STR),
                    ("title", STR),
                    ("case_id", INT),
                    ("case_number", STR),
                    ("group", STR),
                    ("created_by", STR),
                    ("created_at", TS),
                    ("last_activity_at", TS),
                ]
            ),
            categories=("kind", "group"),
            empty_is_null=("case_number",),
        ),
        Table(
            name="members",
            schema=pa.schema(
                [
                    ("conversation_id", INT),
                    ("login", STR),
                    ("display_name", STR),
                    ("group", STR),
                    ("role", STR),
                    ("joined_at", TS),
                ]
            ),
            categories=("group", "role"),
        ),
        Table(
            name="messages",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("author", STR),
                    ("author_group", STR),
                    ("author_role", STR),
                    ("created_at", TS),
                    ("kind", STR),
                    ("body", STR),
                    ("ref_id", INT),
                    ("edited_at", TS),
                    ("edited", BOOL),
                    ("deleted", BOOL),
                    ("reply_to_id", INT),
                    ("reactions", STR),
                    # The logins the message @mentions, comma-separated; '' for none (revision 0009).
                    ("mentions", STR),
                    ("internal", BOOL),
                ]
            ),
            categories=("author_group", "author_role", "kind"),
            derive=_derive_messages,
        ),
        Table(
            name="files",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("uploader", STR),
                    ("name", STR),
                    ("media_type", STR),
                    ("size", INT),
                    ("sha256", STR),
                    ("created_at", TS),
                ]
            ),
        ),
        Table(
            name="whiteboards",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("title", STR),
                    ("created_by", STR),
                    ("created_at", TS),
                    ("background_attachment_id", INT),
                    ("strokes", INT),
                ]
            ),
        ),
        Table(
            name="calls",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("provider", STR),
                    ("started_by", STR),
                    ("started_at", TS),
                    ("ended_at", TS),
                    ("duration_seconds", FLOAT),
                    ("participants", INT),
                ]
            ),
            derive=_derive_calls,
        ),
        Table(
            name="cases",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("number", STR),
                    ("title", STR),
                    ("group", STR),
                    ("machine_model", STR),
                    ("machine_serial", STR),
                    ("status", STR),
                    ("priority", STR),
                    ("created_at", TS),
                    ("technicians", STR),
                ]
            ),
            categories=("group", "status", "priority"),
            derive=_derive_cases,
        ),
    )
}


def as_tuple(value: Any) -> tuple[Any, ...]:
    """An option given as one value, many values or nothing, as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str | int):
        return (value,)
    return tuple(value)


def check_tables(tables: Iterable[str] | None) -> list[str]:
    """The chosen table names in order without repeats (all when ``None``); unknown names raise."""
    if tables is None:
        return list(TABLES)
    chosen = list(dict.fromkeys(as_tuple(tables)))
    unknown = [t for t in chosen if t not in SPECS]
    if unknown:
        raise InvalidInput(f"Unknown table(s): {', '.join(map(str, unknown))}. Choose from {', '.join(TABLES)}.")
    return chosen


def schema(table: str) -> pa.Schema:
    """The Arrow schema of one exported table (the Parquet files carry exactly this)."""
    return SPECS[check_tables([table])[0]].schema


def pandas_types() -> Callable[[pa.DataType], Any]:
    """Arrow type -> pandas dtype of the exported frames (nullable dtypes, never ``object``)."""
    import pandas as pd

    mapping = {
        STR: pd.StringDtype("pyarrow"),
        INT: pd.Int64Dtype(),
        BOOL: pd.BooleanDtype(),
        FLOAT: pd.Float64Dtype(),
    }
    return mapping.get


def to_frame(table: pa.Table, name: str) -> pd.DataFrame:
    """One exported Arrow table as a DataFrame with the documented dtypes."""
    import pandas as pd

    df = table.to_pandas(types_mapper=pandas_types())
    for col in SPECS[name].categories:
        known = _KNOWN_CATEGORIES.get(f"{col}:{name}", _KNOWN_CATEGORIES.get(col, []))
        seen = sorted(set(df[col].dropna()) - set(known))
        cats = pd.Index(known + seen, dtype=pd.StringDtype("pyarrow"))
        df[col] = df[col].astype(pd.CategoricalDtype(categories=cats))
    return df

"""Bulk setup from a YAML or JSON file: groups, users and service cases, validated before writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import DataError, IntegrityError

from conferencing_widgets.chat.cleaning import clean_title
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import CaseStatus, Role
from conferencing_widgets.store import Store


def _require(item: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected a mapping, got {type(item).__name__}.")
    missing = [k for k in keys if not str(item.get(k, "")).strip()]
    if missing:
        raise InvalidInput(f"{where}: missing {', '.join(missing)}.")
    return item


def _section(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise InvalidInput(f"{path}: '{key}' must be a list, got {type(items).__name__}.")
    return items


def load_file(store: Store, path: Path) -> dict[str, int]:
    """Load ``path`` in one transaction: either everything is written or nothing."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # YAML errors span lines; the CLI prints one
        raise InvalidInput(f"Cannot read {path}: {detail}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a mapping with 'groups', 'users' and/or 'cases'.")
    unknown = set(data) - {"groups", "users", "cases"}
    if unknown:
        raise InvalidInput(f"{path}: unknown section(s) {', '.join(sorted(unknown))}.")
    counts = {"groups": 0, "users": 0, "cases": 0}
    try:
        _load(store, data, path, counts)
    except (IntegrityError, DataError) as exc:
        # e.g. a value longer than its column on PostgreSQL: a clean error, and the transaction rolled back.
        raise InvalidInput(f"{path}: the store refused the data ({exc.orig}). Nothing was loaded.") from exc
    return counts


def _load(store: Store, data: dict[str, Any], path: Path, counts: dict[str, int]) -> None:
    with store.atomic():
        for i, g in enumerate(_section(data, "groups", path)):
            g = _require(g, ("id", "name"), f"groups[{i}]")
            name = clean_title(g["name"], what=f"name of groups[{i}]")
            store.add_group(id=str(g["id"]), name=name, is_vendor=bool(g.get("is_vendor", False)))
            counts["groups"] += 1
        for i, u in enumerate(_section(data, "users", path)):
            u = _require(u, ("login", "display_name", "group", "role"), f"users[{i}]")
            try:
                role = Role(str(u["role"]))
            except ValueError as exc:
                raise InvalidInput(f"users[{i}]: role must be one of {[r.value for r in Role]}.") from exc
            store.add_user(
                login=str(u["login"]),
                display_name=clean_title(u["display_name"], what=f"display name of users[{i}]"),
                group_id=str(u["group"]),
                role=role,
                disabled=bool(u.get("disabled", False)),
            )
            counts["users"] += 1
        for i, c in enumerate(_section(data, "cases", path)):
            c = _require(c, ("number", "title", "group"), f"cases[{i}]")
            try:
                status = CaseStatus(str(c.get("status", "open")))
            except ValueError as exc:
                raise InvalidInput(f"cases[{i}]: status must be one of {[s.value for s in CaseStatus]}.") from exc
            store.add_case(
                number=str(c["number"]),
                title=clean_title(c["title"], what=f"title of cases[{i}]"),
                group_id=str(c["group"]),
                machine_model=str(c.get("machine_model", "")),
                machine_serial=str(c.get("machine_serial", "")),
                status=status,
                technicians=[str(t) for t in _section(c, "technicians", path)],
            )
            counts["cases"] += 1

"""Groups, users and service cases: the directory every feature refers to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    CasePriority,
    CaseStatus,
    Group,
    Role,
    ServiceCase,
    User,
)
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import utcnow
from conferencing_widgets.store.changes import ChangeQueries

_USER = select(s.users).where(s.users.c.login == bindparam("login"))
_GROUP = select(s.groups).where(s.groups.c.id == bindparam("id"))
_USERS_BY_LOGIN = (
    select(s.users)
    .where(s.users.c.login.in_(bindparam("logins", expanding=True)))
    .order_by(s.users.c.display_name, s.users.c.login)
)
"""Display data of some people (every rendered page of rows asks), built once."""
"""Built once: every use case re-reads its user (``Service.require_active``)."""


class DirectoryQueries(ChangeQueries):
    """Groups, users and service cases: the directory every feature refers to."""

    # -- groups and users ---------------------------------------------------------------------

    def add_group(self, *, id: str, name: str, is_vendor: bool = False) -> Group:
        """Create or update a group. Only one group may be the vendor."""
        with self.atomic() as conn:
            if is_vendor:
                other = conn.execute(select(s.groups.c.id).where(s.groups.c.is_vendor, s.groups.c.id != id)).first()
                if other:
                    raise InvalidInput(_(
                        "Group {id!r} is already the vendor; "
                        "there is exactly one."
                    ).format(id=other.id))
            exists = conn.execute(select(s.groups.c.id).where(s.groups.c.id == id)).first()
            if exists:
                conn.execute(update(s.groups).where(s.groups.c.id == id).values(name=name, is_vendor=is_vendor))
            else:
                conn.execute(insert(s.groups).values(id=id, name=name, is_vendor=is_vendor))
            self.append_event(conn, "group", payload={"group_id": id})
        return Group(id=id, name=name, is_vendor=is_vendor)

    def groups(self) -> list[Group]:
        """All groups, vendor first."""
        with self.reading() as conn:
            rows = conn.execute(select(s.groups).order_by(s.groups.c.is_vendor.desc(), s.groups.c.name)).all()
        return [Group(id=r.id, name=r.name, is_vendor=bool(r.is_vendor)) for r in rows]

    def get_group(self, group_id: str) -> Group:
        """One group, or ``NotFound``."""
        with self.reading(single=True) as conn:
            r = conn.execute(_GROUP, {"id": group_id}).first()
        if r is None:
            raise NotFound(_("No group {group_id!r}.").format(group_id=group_id))
        return Group(id=r.id, name=r.name, is_vendor=bool(r.is_vendor))

    def vendor_group(self) -> Group | None:
        """The vendor's group, if set up."""
        return next((g for g in self.groups() if g.is_vendor), None)

    def add_user(
        self, *, login: str, display_name: str, group_id: str, role: Role | str, disabled: bool = False
    ) -> User:
        """Create or update a user."""
        role = Role(role)
        with self.atomic() as conn:
            if conn.execute(select(s.groups.c.id).where(s.groups.c.id == group_id)).first() is None:
                raise NotFound(_("No group {group_id!r}; create it first.").format(group_id=group_id))
            values = {"display_name": display_name, "group_id": group_id, "role": role.value, "disabled": disabled}
            if conn.execute(select(s.users.c.login).where(s.users.c.login == login)).first():
                conn.execute(update(s.users).where(s.users.c.login == login).values(**values))
            else:
                conn.execute(insert(s.users).values(login=login, **values))
            self.append_event(conn, "user", payload={"login": login})
        return User(login=login, display_name=display_name, group_id=group_id, role=role, disabled=disabled)

    def set_user_disabled(self, login: str, disabled: bool) -> None:
        """Disable or re-enable a user."""
        with self.atomic() as conn:
            if conn.execute(update(s.users).where(s.users.c.login == login).values(disabled=disabled)).rowcount == 0:
                raise NotFound(_("No user {login!r}.").format(login=login))
            self.append_event(conn, "user", payload={"login": login})

    @staticmethod
    def _user(r: Any, prefix: str = "") -> User:
        """A user from a row; ``prefix``: its columns are labelled ``<prefix><name>`` (a row of a join)."""
        m = r._mapping
        return User(
            login=m[prefix + "login"],
            display_name=m[prefix + "display_name"],
            group_id=m[prefix + "group_id"],
            role=Role(m[prefix + "role"]),
            disabled=bool(m[prefix + "disabled"]),
        )

    def get_user(self, login: str) -> User:
        """One user, or ``NotFound``."""
        with self.reading(single=True) as conn:
            r = conn.execute(_USER, {"login": login}).first()
        if r is None:
            raise NotFound(_("No user {login!r}.").format(login=login))
        return self._user(r)

    def users(self, *, group_id: str | None = None, logins: Iterable[str] | None = None) -> list[User]:
        """Users, optionally of one group or from a list of logins, ordered by display name."""
        if group_id is None and logins is not None:
            with self.reading(single=True) as conn:
                return [self._user(r) for r in conn.execute(_USERS_BY_LOGIN, {"logins": list(logins)})]
        q = select(s.users).order_by(s.users.c.display_name, s.users.c.login)
        if group_id is not None:
            q = q.where(s.users.c.group_id == group_id)
        if logins is not None:
            q = q.where(s.users.c.login.in_(list(logins)))
        with self.reading(single=True) as conn:
            return [self._user(r) for r in conn.execute(q)]

    # -- service cases ------------------------------------------------------------------------

    def add_case(
        self,
        *,
        number: str,
        title: str,
        group_id: str,
        machine_model: str = "",
        machine_serial: str = "",
        status: CaseStatus | str | None = None,
        technicians: Sequence[str] = (),
        priority: CasePriority | str | None = None,
        at: datetime | None = None,
    ) -> ServiceCase:
        """Create a service case, or update the one with this number.

        A new case is ``open`` and ``normal`` unless given; an update keeps the status and priority it has unless
        given (so re-seeding the demo never undoes a status change). ``at`` backdates a new case, for imports, the
        demo and tests only. Status changes of a live case go through ``cases.service`` (history, notice, clocks);
        this sets the status as data.
        """
        status = None if status is None else CaseStatus(status)
        priority = None if priority is None else CasePriority(priority)
        with self.atomic() as conn:
            group = conn.execute(select(s.groups).where(s.groups.c.id == group_id)).first()
            if group is None:
                raise NotFound(_("No group {group_id!r}.").format(group_id=group_id))
            if group.is_vendor:
                raise InvalidInput(_("A service case belongs to a customer company, not to the vendor."))
            for login in technicians:
                u = conn.execute(select(s.users).where(s.users.c.login == login)).first()
                if u is None:
                    raise NotFound(_("No user {login!r} to assign.").format(login=login))
                if Role(u.role) is Role.CUSTOMER:
                    raise InvalidInput(_(
                        "{login!r} is a customer; only vendor "
                        "staff can be assigned."
                    ).format(login=login))
            values: dict[str, Any] = {
                "title": title,
                "group_id": group_id,
                "machine_model": machine_model,
                "machine_serial": machine_serial,
            }
            if status is not None:
                values["status"] = status.value
            if priority is not None:
                values["priority"] = priority.value
            existing = conn.execute(select(s.service_cases.c.id).where(s.service_cases.c.number == number)).first()
            if existing:
                case_id = int(existing.id)
                conn.execute(update(s.service_cases).where(s.service_cases.c.id == case_id).values(**values))
                conn.execute(s.case_technicians.delete().where(s.case_technicians.c.case_id == case_id))
            else:
                case_id = conn.execute(
                    insert(s.service_cases)
                    .values(
                        number=number,
                        created_at=at or utcnow(),
                        **{"status": CaseStatus.OPEN.value, "priority": CasePriority.NORMAL.value, **values},
                    )
                    .returning(s.service_cases.c.id)
                ).scalar_one()
            for login in dict.fromkeys(technicians):
                conn.execute(insert(s.case_technicians).values(case_id=case_id, login=login))
            self.append_event(conn, "case", ref_id=case_id)
        return self.get_case(int(case_id))

    def _cases(self, conn: Connection, where: Any = None) -> list[ServiceCase]:
        q = select(s.service_cases).order_by(s.service_cases.c.number)
        if where is not None:
            q = q.where(where)
        rows = conn.execute(q).all()
        techs: dict[int, list[str]] = {}
        if rows:
            for t in conn.execute(
                select(s.case_technicians).where(s.case_technicians.c.case_id.in_([r.id for r in rows]))
            ):
                techs.setdefault(int(t.case_id), []).append(t.login)
        return [
            ServiceCase(
                id=int(r.id),
                number=r.number,
                title=r.title,
                group_id=r.group_id,
                machine_model=r.machine_model,
                machine_serial=r.machine_serial,
                status=CaseStatus(r.status),
                technicians=tuple(sorted(techs.get(int(r.id), []))),
                priority=CasePriority(r.priority),
                created_at=r.created_at,
            )
            for r in rows
        ]

    def get_case(self, case_id: int) -> ServiceCase:
        """One case, or ``NotFound``."""
        with self.reading() as conn:
            found = self._cases(conn, s.service_cases.c.id == case_id)
        if not found:
            raise NotFound(_("No service case {case_id}.").format(case_id=case_id))
        return found[0]

    def get_case_by_number(self, number: str) -> ServiceCase:
        """One case by its number, or ``NotFound``."""
        with self.reading() as conn:
            found = self._cases(conn, s.service_cases.c.number == number)
        if not found:
            raise NotFound(_("No service case {number!r}.").format(number=number))
        return found[0]

    def cases(self, *, group_id: str | None = None) -> list[ServiceCase]:
        """All cases, or those of one customer company."""
        with self.reading() as conn:
            return self._cases(conn, None if group_id is None else s.service_cases.c.group_id == group_id)


"""Who is the current user: signed dashboard links, JupyterHub, or an explicit login."""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import timedelta
from typing import Protocol
from urllib.parse import parse_qs, urlencode

from itsdangerous import BadData, URLSafeSerializer

from conferencing_widgets.core.errors import InvalidInput, InvalidLink, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import User

LINK_SALT = "conferencing-dashboard-link"
MAX_TOKEN_CHARS = 2048
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` or plain seconds."""
    text = str(text).strip()
    if text.isdigit() and int(text) > 0:
        return timedelta(seconds=int(text))
    m = _DURATION.match(text)
    if not m or int(m.group(1)) <= 0:
        raise InvalidInput(_("Not a duration: {text!r}. Use e.g. 30m, 12h, 7d or 2w.").format(text=text))
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise InvalidLink(_("No link secret is configured (set CONFERENCING_SECRET)."))
    return URLSafeSerializer(secret, salt=LINK_SALT)


def make_token(login: str, secret: str, ttl: timedelta, *, now: float | None = None) -> str:
    """An HMAC-signed token carrying the login and its expiry time."""
    expires = int((time.time() if now is None else now) + ttl.total_seconds())
    return str(_serializer(secret).dumps({"u": login, "exp": expires}))


def read_token(token: str | None, secret: str, *, now: float | None = None) -> str:
    """The login in a valid token; ``InvalidLink`` for anything missing, tampered or expired."""
    if not token:
        raise InvalidLink(_("This link has no access token. Ask your service contact for a new link."))
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidLink(_("This link is not valid. Ask your service contact for a new link."))
    try:
        data = _serializer(secret).loads(token)
    except BadData as exc:
        raise InvalidLink(_("This link is not valid. Ask your service contact for a new link.")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("exp"), int):
        raise InvalidLink(_("This link is not valid. Ask your service contact for a new link."))
    if data["exp"] < (time.time() if now is None else now):
        raise InvalidLink(_("This link has expired. Ask your service contact for a new link."))
    return str(data["u"])


class UserDirectory(Protocol):
    """Where logins are looked up (the ``Store``; core knows no store)."""

    def get_user(self, login: str) -> User: ...


def user_from_token(store: UserDirectory, token: str | None, secret: str) -> User:
    """The enabled user a valid token names; ``InvalidLink`` otherwise."""
    login = read_token(token, secret)
    try:
        user = store.get_user(login)
    except NotFound as exc:
        raise InvalidLink(_("This link is for an unknown account. Ask your service contact for a new link.")) from exc
    if user.disabled:
        raise InvalidLink(_("This account is disabled. Ask your service contact for help."))
    return user


def token_from_query(query_string: str) -> str | None:
    """The ``token`` parameter of a query string, if there is exactly one."""
    values = parse_qs(query_string.lstrip("?"), keep_blank_values=True).get("token", [])
    return values[0] if len(values) == 1 else None


def param_from_query(query_string: str, name: str) -> str | None:
    """One query parameter, if present once."""
    values = parse_qs(query_string.lstrip("?"), keep_blank_values=True).get(name, [])
    return values[0] if len(values) == 1 else None


def dashboard_url(
    base_url: str,
    login: str,
    secret: str,
    ttl: timedelta,
    *,
    notebook: str = "conferencing.ipynb",
    **params: str | int,
) -> str:
    """A signed link to a dashboard notebook served by Voila."""
    query = urlencode({**{k: str(v) for k, v in params.items()}, "token": make_token(login, secret, ttl)})
    return f"{base_url.rstrip('/')}/voila/render/{notebook}?{query}"


def jupyterhub_login() -> str | None:
    """The JupyterHub user of this server, when running under JupyterHub."""
    return os.environ.get("JUPYTERHUB_USER") or None


# -- keeping tokens out of logs -----------------------------------------------------------------------

_TOKEN_IN_TEXT = re.compile(r"((?:^|[?&;\s])token=)[^&\s#;)\"']*", re.IGNORECASE)


def hide_tokens(text: str) -> str:
    """``text`` with every ``token=`` value replaced by ``[hidden]`` (for URLs in log lines)."""
    return _TOKEN_IN_TEXT.sub(r"\1[hidden]", text)


class HideLinkTokens(logging.Filter):
    """A logging filter that hides link tokens in records. ``voila.json`` puts it on tornado's loggers, because
    Voila logs failed requests (404, 500 ...) with their full URL: a mistyped or expired link would otherwise
    write a working token into the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = hide_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(hide_tokens(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: hide_tokens(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True

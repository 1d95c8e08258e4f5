"""Short-lived upload tokens: the kernel vouches for one user and one conversation, the upload endpoint checks.

A token is an itsdangerous HMAC signature (the settings secret, its own salt, so a dashboard link is never an
upload token and back) over ``{"u": login, "c": conversation id, "exp": unix time}``. It carries no right by
itself: the endpoint re-checks membership through the files service before it accepts bytes and at completion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer

from conferencing_widgets.core.errors import InvalidLink
from conferencing_widgets.core.i18n import _

UPLOAD_SALT = "conferencing-upload-token"
MAX_TOKEN_CHARS = 1024


@dataclass(frozen=True)
class UploadGrant:
    """What a valid token says."""

    login: str
    conversation_id: int
    expires: int


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise InvalidLink(_("No secret is configured (set CONFERENCING_SECRET): uploads cannot be authorised."))
    return URLSafeSerializer(secret, salt=UPLOAD_SALT)


def make_upload_token(secret: str, login: str, conversation_id: int, ttl_s: float, *, now: float | None = None) -> str:
    """A token letting ``login`` upload into ``conversation_id`` for ``ttl_s`` seconds (rights still re-checked)."""
    expires = int((time.time() if now is None else now) + ttl_s)
    return str(_serializer(secret).dumps({"u": login, "c": int(conversation_id), "exp": expires}))


def read_upload_token(token: str | None, secret: str, *, now: float | None = None) -> UploadGrant:
    """The grant in a valid token; ``InvalidLink`` for a missing, tampered, foreign or expired one."""
    if not token:
        raise InvalidLink(_("This upload has no token. Reload the page and choose the file again."))
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidLink(_("This upload token is not valid. Reload the page and choose the file again."))
    try:
        data = _serializer(secret).loads(token)
    except BadData as exc:
        raise InvalidLink(_("This upload token is not valid. Reload the page and choose the file again.")) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("u"), str)
        or not isinstance(data.get("c"), int)
        or not isinstance(data.get("exp"), int)
    ):
        raise InvalidLink(_("This upload token is not valid. Reload the page and choose the file again."))
    if data["exp"] < (time.time() if now is None else now):
        raise InvalidLink(_("This upload token has expired. Reload the page and choose the file again."))
    return UploadGrant(login=data["u"], conversation_id=data["c"], expires=data["exp"])


__all__ = ["UploadGrant", "make_upload_token", "read_upload_token"]

"""Meeting rooms: room names, Jitsi JWT claims and expiry, ICE server settings, the provider registry."""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest

from conferencing_widgets import InvalidInput, Role, Settings, User
from conferencing_widgets.calls.providers import (
    ROOM_PATTERN,
    BuiltinProvider,
    JitsiProvider,
    JoinRequest,
    get_provider,
    info_url,
    jitsi_jwt,
    parse_ice_servers,
    provider_names,
    register_provider,
    room_name,
)
from conferencing_widgets.core.model import Call

ALICE = User(login="alice.moreau", display_name="Alice Moreau", group_id="acme", role=Role.CUSTOMER)


def a_call(room: str, **kw: object) -> Call:
    values: dict[str, object] = {
        "id": 42,
        "conversation_id": 7,
        "provider": "jitsi",
        "room": room,
        "started_by": ALICE.login,
        "started_at": datetime.now(UTC),
    }
    values.update(kw)
    return Call(**values)  # type: ignore[arg-type]


# -- room names ---------------------------------------------------------------------------------


def test_room_names_are_random_tokens_with_enough_entropy() -> None:
    rooms = [room_name() for _ in range(2000)]
    assert len(set(rooms)) == len(rooms)
    assert all(ROOM_PATTERN.match(r) for r in rooms)
    # 32 URL-safe base64 characters after the prefix: 192 random bits.
    body = "".join(r[2:] for r in rooms)
    counts = Counter(body)
    assert len(counts) == 64  # every symbol of the alphabet shows up, so no hidden structure like hex or digits only
    entropy = -sum(n / len(body) * math.log2(n / len(body)) for n in counts.values())
    assert entropy > 5.9  # close to the 6 bits per character of a uniform alphabet


def test_room_names_carry_no_personal_data() -> None:
    # The generator takes no input at all; check its output never echoes a user, a conversation or the time.
    now = datetime.now(UTC)
    forbidden = ["alice", "moreau", "acme", "spindle", now.strftime("%Y%m%d"), str(int(time.time()))[:6]]
    for _ in range(500):
        room = room_name().lower()
        assert not any(word in room for word in forbidden), room


def test_jitsi_url_is_base_plus_room_and_the_fragment_name_never_reaches_the_server() -> None:
    room = room_name()
    settings = Settings(jitsi_url="http://127.0.0.1:9999/meet/")
    url = JitsiProvider().join_url(JoinRequest(call=a_call(room), user=ALICE, settings=settings, call_page_url=""))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://127.0.0.1:9999/meet/{room}"
    assert parts.query == ""  # nothing about the user is sent to the Jitsi server without JWT
    assert unquote(parts.fragment) == 'userInfo.displayName="Alice Moreau"'


# -- JWT ------------------------------------------------------------------------------------------


def test_jwt_claims_follow_jitsi_token_auth() -> None:
    room = room_name()
    now = time.time()
    token = jitsi_jwt(
        app_id="cw-app", app_secret="s" * 32, room=room, display_name="Alice Moreau", domain="meet.example.org", now=now
    )
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"], audience="jitsi", issuer="cw-app")
    assert claims["aud"] == "jitsi"
    assert claims["iss"] == "cw-app"
    assert claims["sub"] == "meet.example.org"
    assert claims["room"] == room
    assert claims["context"] == {"user": {"name": "Alice Moreau"}}
    assert claims["exp"] == int(now) + 2 * 3600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_jwt_expires_and_is_bound_to_its_secret() -> None:
    issued = time.time() - 3600
    token = jitsi_jwt(
        app_id="cw-app",
        app_secret="right-secret-0123456789abcdef0123",
        room="cwroom",
        display_name="A",
        domain="meet.example.org",
        ttl=timedelta(minutes=30),
        now=issued,
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, "right-secret-0123456789abcdef0123", algorithms=["HS256"], audience="jitsi")
    fresh = jitsi_jwt(
        app_id="cw-app",
        app_secret="right-secret-0123456789abcdef0123",
        room="cwroom",
        display_name="A",
        domain="meet.example.org",
        ttl=timedelta(minutes=30),
    )
    claims = jwt.decode(fresh, "right-secret-0123456789abcdef0123", algorithms=["HS256"], audience="jitsi")
    assert 29 * 60 <= claims["exp"] - time.time() <= 30 * 60
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(fresh, "wrong-secret-0123456789abcdef01234", algorithms=["HS256"], audience="jitsi")


def test_join_url_carries_a_jwt_when_app_id_is_set() -> None:
    room = room_name()
    settings = Settings(jitsi_url="https://meet.example.org", jitsi_app_id="cw-app", jitsi_app_secret="k" * 32)
    url = get_provider("jitsi").join_url(
        JoinRequest(call=a_call(room), user=ALICE, settings=settings, call_page_url="")
    )
    parts = urlsplit(url)
    assert parts.path == f"/{room}"
    (token,) = parse_qs(parts.query)["jwt"]
    claims = jwt.decode(token, "k" * 32, algorithms=["HS256"], audience="jitsi", issuer="cw-app")
    assert claims["room"] == room and claims["sub"] == "meet.example.org"
    assert claims["context"]["user"]["name"] == "Alice Moreau"
    assert "alice" not in parts.path.lower()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_id": "", "app_secret": "x"}, "APP_ID"),
        ({"app_id": "a", "app_secret": ""}, "APP_SECRET"),
        ({"app_id": "a", "app_secret": "x", "ttl": timedelta(0)}, "positive"),
    ],
)
def test_jwt_refuses_incomplete_configuration(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        jitsi_jwt(room="r", display_name="n", domain="d", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "settings",
    [
        Settings(jitsi_url="javascript:alert(1)"),
        Settings(jitsi_url="meet.jit.si"),
        Settings(jitsi_url="https://"),
        Settings(jitsi_url='https://meet.example.org/"><script>'),
        Settings(jitsi_app_id="only-the-id"),
    ],
)
def test_jitsi_settings_are_checked(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="CONFERENCING_JITSI"):
        JitsiProvider().check(settings)


# -- ICE servers, info link, registry -------------------------------------------------------------


def test_ice_servers_parse_stun_and_turn_with_credentials() -> None:
    assert parse_ice_servers("") == []
    assert parse_ice_servers(" stun:stun.example.org:3478 , turn:bob:s3cret@turn.example.org:3478?transport=tcp") == [
        {"urls": "stun:stun.example.org:3478"},
        {"urls": "turn:turn.example.org:3478?transport=tcp", "username": "bob", "credential": "s3cret"},
    ]


@pytest.mark.parametrize("text", ["http://stun.example.org", "stun:", "turn:bob@turn.example.org", "stun.example.org"])
def test_bad_ice_servers_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="STUN/TURN|TURN credentials"):
        parse_ice_servers(text)
    with pytest.raises(InvalidInput):
        BuiltinProvider().check(Settings(ice_servers=text))


def test_info_url_only_for_http_links() -> None:
    assert info_url(Settings(video_info_url="https://example.org/help")) == "https://example.org/help"
    assert info_url(Settings(video_info_url="javascript:alert(1)")) is None
    assert info_url(Settings(video_info_url="")) is None


def test_registry_names_the_choices_and_accepts_new_providers() -> None:
    assert {"builtin", "jitsi"} <= set(provider_names())
    with pytest.raises(InvalidInput, match="builtin, jitsi"):
        get_provider("zoom")

    class EchoProvider:
        name = "echo-test"
        label = "Echo"
        runs_in_call_page = False

        def new_room(self) -> str:
            return room_name()

        def check(self, settings: Settings) -> None:
            return None

        def join_url(self, request: JoinRequest) -> str:
            return f"https://echo.example.org/{request.call.room}"

    register_provider(EchoProvider())
    try:
        assert (
            get_provider("ECHO-TEST")
            .join_url(JoinRequest(call=a_call("cwx"), user=ALICE, settings=Settings(), call_page_url=""))
            .endswith("/cwx")
        )
    finally:
        from conferencing_widgets.calls.providers import registry as video

        video._PROVIDERS.pop("echo-test", None)
    with pytest.raises(InvalidInput, match="lower-case name"):
        register_provider(object())  # type: ignore[arg-type]

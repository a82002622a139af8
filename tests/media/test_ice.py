"""TURN REST credentials (coturn --use-auth-secret) and the RTCConfiguration builder."""

import base64
import hashlib
import hmac

import pytest
from aiortc import RTCConfiguration
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from aiortc.rtcicetransport import connection_kwargs

from meetings.media.ice import (
    browser_ice_servers,
    build_configuration,
    ice_servers,
    turn_credential,
    turn_rest_credentials,
)

NOW = 1_700_000_000
SECRET = "north-wind-secret"
# printf '%s' '1700003600:alice' | openssl dgst -sha1 -hmac north-wind-secret -binary | base64
KNOWN_CREDENTIAL = "Ev9WJy6IiNjALah9jF2ImB4FP0Y="


def test_known_answer() -> None:
    creds = turn_rest_credentials(SECRET, "alice", ttl=3600, now=NOW)
    assert creds.username == "1700003600:alice"
    assert creds.credential == KNOWN_CREDENTIAL
    assert creds.expires_at == 1_700_003_600


def test_credential_is_base64_hmac_sha1_of_the_username() -> None:
    # RFC 2202 style vector, computed with openssl as well
    assert turn_credential(b"key", "user") == "7hn70X4egRo203m9RpFPlFr/D+0="
    digest = hmac.new(b"s3cret", b"42:bob", hashlib.sha1).digest()
    assert turn_credential("s3cret", "42:bob") == base64.b64encode(digest).decode()


def test_expiry_is_in_the_username_and_follows_the_ttl() -> None:
    short = turn_rest_credentials(SECRET, "u-1", ttl=60, now=NOW + 0.9)
    long = turn_rest_credentials(SECRET, "u-1", ttl=86_400, now=NOW)
    assert short.username == f"{NOW + 60}:u-1"
    assert long.username == f"{NOW + 86_400}:u-1"
    assert short.credential != long.credential


def test_default_now_is_the_current_time() -> None:
    import time

    before = int(time.time())
    creds = turn_rest_credentials(SECRET, "alice", ttl=600)
    expiry = int(creds.username.split(":", 1)[0])
    assert before + 600 <= expiry <= int(time.time()) + 600


@pytest.mark.parametrize(
    ("secret", "user_id", "ttl"),
    [("", "alice", 60), (SECRET, "", 60), (SECRET, "a:b", 60), (SECRET, "alice", 0)],
)
def test_rejects_bad_input(secret: str, user_id: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        turn_rest_credentials(secret, user_id, ttl=ttl, now=NOW)


def test_configuration_without_servers_has_host_candidates_only() -> None:
    config = build_configuration()
    assert isinstance(config, RTCConfiguration)
    # An explicit empty list: None would make aiortc use Google's public STUN server.
    assert config.iceServers == []
    assert config.bundlePolicy == RTCBundlePolicy.MAX_BUNDLE
    assert connection_kwargs(config.iceServers) == {}


def test_configuration_with_stun_and_turn() -> None:
    urls = [
        "stun:stun.example.org:3478",
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349?transport=tcp",
    ]
    config = build_configuration(urls, turn_secret=SECRET, user_id="media-7", ttl=3600, now=NOW)
    stun, turn = config.iceServers
    assert stun.urls == ["stun:stun.example.org:3478"] and stun.username is None
    assert turn.urls == urls[1:]
    assert turn.username == f"{NOW + 3600}:media-7"
    assert turn.credential == turn_credential(SECRET, turn.username)
    # aiortc understands it: one STUN server and the first TURN URL
    kwargs = connection_kwargs(config.iceServers)
    assert kwargs["stun_server"] == ("stun.example.org", 3478)
    assert kwargs["turn_server"] == ("turn.example.org", 3478)
    assert kwargs["turn_username"] == turn.username
    assert kwargs["turn_password"] == turn.credential
    relay = build_configuration(urls, turn_secret=SECRET, now=NOW, relay_only=True)
    assert relay.iceTransportPolicy == RTCIceTransportPolicy.RELAY


def test_turn_urls_need_the_secret_and_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="secret"):
        ice_servers(["turn:turn.example.org"])
    with pytest.raises(ValueError, match="STUN/TURN"):
        ice_servers(["http://example.org"])
    with pytest.raises(ValueError):
        ice_servers(["stun"])


def test_browser_ice_servers_are_plain_json() -> None:
    servers = browser_ice_servers(
        ["stun:stun.example.org", "turn:turn.example.org"],
        turn_secret=SECRET,
        user_id="alice",
        ttl=3600,
        now=NOW,
    )
    assert servers == [
        {"urls": ["stun:stun.example.org"]},
        {
            "urls": ["turn:turn.example.org"],
            "username": "1700003600:alice",
            "credential": KNOWN_CREDENTIAL,
        },
    ]

from datetime import UTC, datetime, timedelta

import pytest

from meetings.ratelimit import Limit, client_address, forgive, hit

LIMIT = Limit("test", max_hits=3, window_seconds=60)
START = datetime(2027, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_attempts_up_to_the_limit_pass_and_the_next_waits(time_machine):
    time_machine.move_to(START, tick=False)

    results = [hit(LIMIT, "a") for _ in range(4)]

    assert results[:3] == [None, None, None]
    # The three hits weigh fully at the roll-over, and fade below the limit 20 s later.
    assert results[3] == 80


def test_subjects_are_counted_apart(time_machine):
    time_machine.move_to(START, tick=False)
    for _ in range(3):
        hit(LIMIT, "a")

    assert hit(LIMIT, "b") is None


def test_a_forgiven_attempt_does_not_count(time_machine):
    time_machine.move_to(START, tick=False)
    for _ in range(3):
        hit(LIMIT, "a")
        forgive(LIMIT, "a")

    assert hit(LIMIT, "a") is None


def test_the_previous_window_still_weighs_until_it_slides_out(time_machine):
    time_machine.move_to(START, tick=False)
    for _ in range(3):
        hit(LIMIT, "a")

    time_machine.move_to(START + timedelta(seconds=61), tick=False)
    assert hit(LIMIT, "a") is not None  # nearly all of the last window still counts
    time_machine.move_to(START + timedelta(seconds=150), tick=False)
    assert hit(LIMIT, "a") is None


@pytest.mark.parametrize("offset", [0, 1, 17, 30, 59])
def test_waiting_exactly_retry_after_is_enough(time_machine, offset):
    time_machine.move_to(START + timedelta(seconds=offset), tick=False)
    for _ in range(3):
        hit(LIMIT, "a")
    retry_after = hit(LIMIT, "a")

    time_machine.shift(timedelta(seconds=retry_after - 1))
    assert hit(LIMIT, "a") is not None
    time_machine.shift(timedelta(seconds=1))
    assert hit(LIMIT, "a") is None


def test_refused_attempts_do_not_extend_the_wait(time_machine):
    time_machine.move_to(START, tick=False)
    for _ in range(3):
        hit(LIMIT, "a")
    first = hit(LIMIT, "a")

    for _ in range(20):
        hit(LIMIT, "a")

    assert hit(LIMIT, "a") == first


def _request(remote: str, forwarded: str | None = None):
    from django.test import RequestFactory

    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_client_is_the_remote_address(settings):
    settings.TRUSTED_PROXIES = []

    assert client_address(_request("10.0.0.1", "6.6.6.6")) == "10.0.0.1"


def test_behind_one_proxy_the_client_is_what_the_proxy_saw(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # A client may forge the left part of the header; only the proxy's entry counts.
    assert client_address(_request("10.0.0.1", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("10.0.0.1")) == "10.0.0.1"


def test_behind_two_proxies_the_walk_stops_at_the_first_untrusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1", "192.168.1.0/24"]

    forwarded = "6.6.6.6, 203.0.113.9, 192.168.1.4"
    assert client_address(_request("10.0.0.1", forwarded)) == "203.0.113.9"


def test_a_request_not_from_a_proxy_keeps_its_address_whatever_it_forwards(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    # Also what uvicorn's --proxy-headers leaves behind: the client already in REMOTE_ADDR.
    assert client_address(_request("203.0.113.9", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("198.51.100.2", "6.6.6.6")) == "198.51.100.2"

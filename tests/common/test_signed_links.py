from datetime import timedelta

import pytest
from django.core import signing

from common.signed_links import (
    BadSignedValue,
    ExpiredSignedValue,
    sign,
    sign_text,
    unsign,
    unsign_text,
)

PAYLOAD = {"e": "reader@example.com", "c": "newsletter"}


def test_a_signed_value_reads_back_for_its_own_purpose():
    token = sign(PAYLOAD, salt="tests.purpose")

    assert unsign(token, salt="tests.purpose", max_age=None) == PAYLOAD


@pytest.mark.parametrize("compress", [False, True])
def test_the_token_format_is_djangos_so_links_already_sent_keep_working(compress):
    sent_before = signing.dumps(PAYLOAD, salt="tests.purpose", compress=compress)

    assert unsign(sent_before, salt="tests.purpose", max_age=60) == PAYLOAD
    assert (
        signing.loads(sign(PAYLOAD, salt="tests.purpose", compress=compress), salt="tests.purpose")
        == PAYLOAD
    )


def test_a_value_signed_for_another_purpose_is_refused():
    token = sign(PAYLOAD, salt="tests.one")

    with pytest.raises(BadSignedValue):
        unsign(token, salt="tests.other", max_age=None)


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJlIjoxfQ:1abc:forged"])
def test_forged_or_garbled_tokens_are_refused(token):
    with pytest.raises(BadSignedValue):
        unsign(token, salt="tests.purpose", max_age=None)


def test_a_changed_payload_is_refused():
    token = sign({"r": 1}, salt="tests.purpose")
    payload, rest = token.split(":", 1)

    with pytest.raises(BadSignedValue):
        unsign(payload[:-2] + "xx:" + rest, salt="tests.purpose", max_age=None)


@pytest.mark.parametrize("max_age", [3600, timedelta(hours=1)])
def test_an_old_token_is_expired_and_still_one_error_type(time_machine, max_age):
    time_machine.move_to("2026-01-01 12:00Z")
    token = sign(PAYLOAD, salt="tests.purpose")
    time_machine.move_to("2026-01-01 13:00:01Z")

    with pytest.raises(ExpiredSignedValue) as caught:
        unsign(token, salt="tests.purpose", max_age=max_age)
    # Callers catch one type; code that still checks Django's own classes keeps working.
    assert isinstance(caught.value, BadSignedValue)
    assert isinstance(caught.value, signing.SignatureExpired)


def test_a_token_just_inside_its_age_reads(time_machine):
    time_machine.move_to("2026-01-01 12:00Z")
    token = sign(PAYLOAD, salt="tests.purpose")
    time_machine.move_to("2026-01-01 12:59Z")

    assert unsign(token, salt="tests.purpose", max_age=3600) == PAYLOAD


def test_signed_text_reads_back_never_expires_and_matches_djangos_signer(time_machine):
    time_machine.move_to("2020-01-01 00:00Z")
    signed = sign_text("https://example.org/a", salt="tests.text")
    time_machine.move_to("2030-01-01 00:00Z")

    assert signed == signing.Signer(salt="tests.text").sign("https://example.org/a")
    assert unsign_text(signed, salt="tests.text") == "https://example.org/a"


@pytest.mark.parametrize("signed", ["https://example.org/a", "https://example.org/a:forged", ""])
def test_unsigned_or_forged_text_is_refused(signed):
    with pytest.raises(BadSignedValue):
        unsign_text(signed, salt="tests.text")


def test_text_signed_for_another_purpose_is_refused():
    with pytest.raises(BadSignedValue):
        unsign_text(sign_text("42", salt="tests.one"), salt="tests.two")

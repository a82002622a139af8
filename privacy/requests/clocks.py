"""Which legal clock each request runs on, and its due dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from privacy import deadlines
from privacy.deadlines import Clock
from privacy.models import PrivacyRequest

Kind = PrivacyRequest.Kind
Channel = PrivacyRequest.Channel

# Account settings: the privacy policy names it as the way to delete an account.
DESIGNATED = frozenset(
    {
        Channel.WEB_FORM,
        Channel.DESIGNATED_EMAIL,
        Channel.DESIGNATED_POST,
        Channel.ACCOUNT_SETTINGS,
    }
)
# CCPA requests answered on the 45-day clock (and that one extension may lengthen).
RESPONSE_KINDS = frozenset({Kind.ACCESS, Kind.DELETE, Kind.CORRECT})
OPT_OUT_KINDS = frozenset({Kind.OPT_OUT, Kind.LIMIT})
REMINDER_DAYS = (7, 2)


@dataclass(frozen=True)
class Deadlines:
    clock: Clock
    due_on: date
    confirm_due_on: date | None


def answer_clock(kind: str, channel: str) -> Clock:
    if kind == Kind.SHINE_THE_LIGHT:
        return (
            deadlines.SHINE_THE_LIGHT
            if channel in DESIGNATED
            else deadlines.SHINE_THE_LIGHT_ELSEWHERE
        )
    if kind in OPT_OUT_KINDS:
        return deadlines.CCPA_OPT_OUT
    return deadlines.CCPA_RESPOND


def deadlines_for(kind: str, channel: str, received: date) -> Deadlines:
    clock = answer_clock(kind, channel)
    confirm = deadlines.CCPA_CONFIRM_RECEIPT.due(received) if kind in RESPONSE_KINDS else None
    return Deadlines(clock=clock, due_on=clock.due(received), confirm_due_on=confirm)


def extended_due(received: date) -> date:
    return deadlines.CCPA_EXTENSION.due(received)


def clock_named(name: str) -> Clock:
    for clock in (
        deadlines.SHINE_THE_LIGHT,
        deadlines.SHINE_THE_LIGHT_ELSEWHERE,
        deadlines.CCPA_RESPOND,
        deadlines.CCPA_EXTENSION,
        deadlines.CCPA_OPT_OUT,
        deadlines.CCPA_CONFIRM_RECEIPT,
    ):
        if clock.name == name:
            return clock
    raise LookupError(name)

"""The forms and surveys through which people give us information themselves.

The privacy policy's "forms and surveys" section is generated from this list (see
``privacy.policies.generated``), so a new form or survey is named there by adding it
here. The call-quality survey's entry is built from the survey's own choices and limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedback.models import COMMENT_MAX_LENGTH, Reason


@dataclass(frozen=True)
class CollectionPoint:
    name: str
    asks: str  # what the form or survey asks for
    kept: str  # what we keep, including anything recorded with it automatically
    seen_by: str  # who sees it beyond our staff who run the service


def _survey() -> CollectionPoint:
    reasons = ", ".join(label.lower() for label in Reason.labels)
    return CollectionPoint(
        name="Call-quality survey (end of a meeting)",
        asks=(
            "How was the call, from 1 to 5 stars; optionally what could have been better "
            f"({reasons}) and a comment of up to {COMMENT_MAX_LENGTH:,} characters. "
            "You can skip it."
        ),
        kept=(
            "Your answer with the meeting and your attendance, plus the name and major "
            "version of your browser (not its full identification string), which of our "
            "media servers carried the call, whether your connection was relayed, and "
            "your browser's own summary of packet loss and round-trip time during the call. "
            "Not your IP address. If you are signed in, when you last answered or skipped, "
            "so that we ask at most once a day."
        ),
        seen_by=(
            "The meeting's host sees your rating, reasons and comment with your name; our "
            "quality-assurance staff see answers to improve the service."
        ),
    )


def collection_points() -> tuple[CollectionPoint, ...]:
    return (
        CollectionPoint(
            name="Sign-up form",
            asks="Name, email address, time zone, how you heard about us; company and job "
            "title are optional.",
            kept="What you entered, as your account.",
            seen_by="Nobody else.",
        ),
        CollectionPoint(
            name="Meeting join form",
            asks="The name and email address a guest joins with, and the meeting passcode.",
            kept="The name and address, with the times you were in the meeting.",
            seen_by="The meeting's host, in the attendance report.",
        ),
        _survey(),
        CollectionPoint(
            name="Contact form",
            asks="Name, email address, a topic and your message.",
            kept="A ticket with your message and our answers.",
            seen_by="Nobody else.",
        ),
        CollectionPoint(
            name="Newsletter sign-up",
            asks="Your email address, then your confirmation from the link we send.",
            kept="The address and when you signed up and confirmed.",
            seen_by="Nobody else.",
        ),
        CollectionPoint(
            name="Contest entry form",
            asks="Name, email address, the eligibility statements the contest's official "
            "rules ask for (such as your age or date of birth, and where you live), and an "
            "unticked box to also receive marketing email.",
            kept="Your entry, for the retention the contest's rules state, then deleted.",
            seen_by="Winners are listed by first name and state only.",
        ),
    )

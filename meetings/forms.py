"""The meeting pages' forms. They check shape only; the services judge the rest."""

import re
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.forms import TimeZoneInput
from accounts.timezones import validate_time_zone
from common.header_text import reject_control_characters

from .models import Meeting, Recurrence
from .schedule import WEEKDAY_NAMES, Schedule

_EMAIL_SEPARATORS = re.compile(r"[\s,;]+")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


def split_emails(text: str) -> list[str]:
    """Addresses typed one a line or separated by commas, semicolons or spaces."""
    return [part for part in _EMAIL_SEPARATORS.split(text or "") if part]


def add_service_errors(
    form: forms.Form, error: ValidationError, *, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the fields it names, the rest on the form.

    `aliases` maps a service's key to this form's field where their names differ.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, messages in error.message_dict.items():
        name = (aliases or {}).get(key, key)
        form.add_error(name if name in form.fields else None, messages)


class JoinForm(forms.Form):
    display_name = forms.CharField(
        label="Your name",
        max_length=80,
        help_text="Shown to the host and the other people in the meeting.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[reject_control_characters],
        error_messages={"required": "Enter the name others will see."},
    )
    email = forms.EmailField(
        label="Your email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address such as name@example.com.",
        },
    )
    passcode = forms.CharField(
        label="Meeting passcode",
        max_length=32,
        help_text="It's in the invitation from the host.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the meeting passcode."},
    )

    def __init__(
        self,
        *args: Any,
        ask_identity: bool,
        ask_passcode: bool,
        locked_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not ask_identity:
            del self.fields["display_name"]
            del self.fields["email"]
        elif locked_email:
            email = self.fields["email"]
            self.initial["email"] = locked_email
            email.disabled = True
            email.help_text = "Your personal invitation link is for this address."
        if not ask_passcode:
            del self.fields["passcode"]


class WallClockStartMixin(forms.Form):
    """A start entered as a local date and time, in a zone the form names elsewhere."""

    starts_on = forms.DateField(
        label="Date",
        widget=DateInput(),
        error_messages={
            "required": "Choose the date.",
            "invalid": "Enter a date such as 2030-04-27.",
        },
    )
    start_time = forms.TimeField(
        label="Start time",
        widget=TimeInput(),
        error_messages={
            "required": "Choose the start time.",
            "invalid": "Enter a time such as 09:30.",
        },
    )


class ScheduleForm(WallClockStartMixin):
    title = forms.CharField(
        label="Title",
        max_length=200,
        error_messages={"required": "Give the meeting a title."},
    )
    agenda = forms.CharField(
        label="Agenda (optional)",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Sent with the invitation.",
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        widget=TimeZoneInput(),
        validators=[validate_time_zone],
        help_text="The date and time above are in this zone. Invitees see it in their own.",
        error_messages={"required": "Choose a time zone."},
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        initial=30,
        widget=forms.NumberInput(attrs={"min": 5, "step": 5, "inputmode": "numeric"}),
        error_messages={
            "required": "Enter how long the meeting lasts.",
            "invalid": "Enter a whole number of minutes.",
        },
    )
    recurrence = forms.ChoiceField(
        label="How often", choices=Recurrence.choices, initial=Recurrence.NONE
    )
    interval = forms.IntegerField(
        label="Every",
        initial=1,
        required=False,
        help_text="1 for every day, week or month; 2 for every other one.",
        widget=forms.NumberInput(attrs={"min": 1, "max": 99, "inputmode": "numeric"}),
        error_messages={"invalid": "Enter a whole number."},
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="On these days",
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    until = forms.DateField(
        label="Ends on",
        required=False,
        widget=DateInput(),
        help_text="Fill in an end date or a number of meetings.",
        error_messages={"invalid": "Enter a date such as 2030-04-27."},
    )
    count = forms.IntegerField(
        label="Or ends after (meetings)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 366, "inputmode": "numeric"}),
        error_messages={"invalid": "Enter a whole number."},
    )
    invitees = forms.CharField(
        label="Invitees (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Email addresses, one a line or separated by commas. Each gets a calendar "
        "invitation.",
    )
    passcode_required = forms.BooleanField(
        label="Require a passcode (recommended)", required=False, initial=True
    )
    lobby_enabled = forms.BooleanField(
        label="Lobby: I let each person in", required=False, initial=True
    )
    recording_allowed = forms.BooleanField(label="Allow recording", required=False, initial=False)

    def schedule(self) -> Schedule:
        data = self.cleaned_data
        return Schedule(
            time_zone=data["time_zone"],
            starts_on=data["starts_on"],
            start_time=data["start_time"].replace(second=0, microsecond=0),
            duration_minutes=data["duration_minutes"],
            recurrence=data["recurrence"],
            interval=data["interval"] or 1,
            weekdays=tuple(sorted(set(data["weekdays"]))),
            until=data["until"],
            count=data["count"],
        )

    def invitee_emails(self) -> list[str]:
        return split_emails(self.cleaned_data.get("invitees", ""))

    def settings(self) -> dict[str, bool]:
        return {
            name: self.cleaned_data[name]
            for name in ("passcode_required", "lobby_enabled", "recording_allowed")
        }


class EditMeetingForm(ScheduleForm):
    """The schedule form without invitees: those are managed one by one on the meeting."""

    @classmethod
    def initial_for(cls, meeting: Meeting) -> dict[str, Any]:
        return {
            "title": meeting.title,
            "agenda": meeting.agenda,
            "starts_on": meeting.starts_on,
            "start_time": meeting.start_time,
            "time_zone": meeting.time_zone,
            "duration_minutes": meeting.duration_minutes,
            "recurrence": meeting.recurrence,
            "interval": meeting.recurrence_interval,
            "weekdays": list(meeting.recurrence_weekdays),
            "until": meeting.recurrence_until,
            "count": meeting.recurrence_count,
            "passcode_required": bool(meeting.passcode),
            "lobby_enabled": meeting.lobby_enabled,
            "recording_allowed": meeting.recording_allowed,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["invitees"]


class OccurrenceForm(WallClockStartMixin):
    """Move one sitting: a wall-clock date and time in the meeting's own zone."""

    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        widget=forms.NumberInput(attrs={"min": 5, "step": 5, "inputmode": "numeric"}),
        error_messages={
            "required": "Enter how long the meeting lasts.",
            "invalid": "Enter a whole number of minutes.",
        },
    )

    def local_start(self) -> datetime:
        day: date = self.cleaned_data["starts_on"]
        at: time = self.cleaned_data["start_time"]
        return datetime.combine(day, at.replace(second=0, microsecond=0))


class InviteForm(forms.Form):
    emails = forms.CharField(
        label="Invite more people",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Email addresses, one a line or separated by commas.",
        error_messages={"required": "Enter at least one email address."},
    )

    def addresses(self) -> list[str]:
        return split_emails(self.cleaned_data["emails"])

"""The contact form and the staff's forms. They check shape; the services do the rest."""

from __future__ import annotations

from typing import Any

from django import forms

from common.header_text import reject_control_characters
from privacy.models import PrivacyRequest

from .models import Ticket, Topic

MESSAGE_MAX = 5000
REPLY_MAX = 10000


class ContactForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[reject_control_characters],
        error_messages={"required": "Enter your name, so we know how to address you."},
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We answer here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter the email address we should answer.",
            "invalid": "Enter a valid email address, like name@example.com.",
        },
    )
    topic = forms.ChoiceField(
        label="Topic",
        choices=[("", "Choose a topic"), *Topic.choices],
        error_messages={
            "required": "Choose what your message is about.",
            "invalid_choice": "Choose one of the topics in the list.",
        },
    )
    message = forms.CharField(
        label="Your message",
        max_length=MESSAGE_MAX,
        help_text=f"Up to {MESSAGE_MAX:,} characters.",
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Write your message."},
    )


class ReplyForm(forms.Form):
    """One text box and two buttons: send it to the person, or keep it as a staff note."""

    REPLY = "reply"
    NOTE = "note"

    body = forms.CharField(
        label="Reply or note",
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Write the reply or the note first."},
    )
    action = forms.ChoiceField(
        choices=[(REPLY, "Send reply"), (NOTE, "Save internal note")],
        # Set by the button pressed, never rendered as a field of its own.
        error_messages={
            "required": "Choose whether to send a reply or save a note.",
            "invalid_choice": "Choose whether to send a reply or save a note.",
        },
    )


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *Ticket.Status.choices],
        error_messages={"invalid_choice": "Choose one of the statuses in the list."},
    )
    topic = forms.ChoiceField(
        label="Topic",
        required=False,
        error_messages={"invalid_choice": "Choose one of the topics in the list."},
    )
    q = forms.CharField(label="Reference or email", required=False, max_length=254)

    def __init__(self, *args: Any, topics: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Topic.choices)
        self.fields["topic"].choices = [("", "Any topic")] + [(t, labels[t]) for t in topics]  # type: ignore[attr-defined]


class PrivacyRequestForm(forms.Form):
    """Turn a privacy-topic ticket into a privacy request with its legal clock."""

    kind = forms.ChoiceField(
        label="Kind of request",
        choices=[("", "Choose what the person asked for"), *PrivacyRequest.Kind.choices],
        error_messages={"required": "Choose the kind of request the message makes."},
    )
    california_resident = forms.BooleanField(
        label="The person says they live in California",
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == PrivacyRequest.Kind.SHINE_THE_LIGHT and not data.get(
            "california_resident"
        ):
            raise forms.ValidationError(
                "A California Privacy Rights Notice is for California residents: confirm the "
                "message says so, or ask the person first."
            )
        return data

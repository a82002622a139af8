"""The library's forms. They check shape only; `recordings.library` judges the limits."""

from typing import Any

from django import forms
from django.conf import settings

from . import library, qa
from .library import LibraryError

_WHOLE_DAYS = {"invalid": "Enter a whole number of days."}

QA_USE_LABEL = (
    "Recordings of your meetings may be used for quality assurance and improvement of the "
    "service, as our privacy policy says."
)


def qa_use_help() -> str:
    return (
        f"Turn this off and no one at {settings.SITE_NAME} will open this recording for that "
        "purpose."
    )


def add_library_error(form: forms.Form, error: LibraryError) -> None:
    """Put the service's refusal on the field it names, or on the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class RenameForm(forms.Form):
    title = forms.CharField(
        label="Title",
        max_length=library.TITLE_MAX,
        error_messages={"required": "Give the recording a title."},
    )


class RetentionForm(forms.Form):
    days = forms.IntegerField(
        label="Keep for (days after the recording)",
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
        error_messages={"required": "Enter a number of days.", **_WHOLE_DAYS},
    )

    def __init__(self, *args: Any, most: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["max"] = most
        self.fields["days"].help_text = (
            f"From 1 to {most} day{'s' if most != 1 else ''}. Once shortened, it can't be "
            "lengthened again."
        )


class QAUseForm(forms.Form):
    allowed = forms.BooleanField(label=QA_USE_LABEL, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allowed"].help_text = qa_use_help()


class ShareLinkForm(forms.Form):
    expires_in_days = forms.IntegerField(
        label="Link works for (days)",
        initial=7,
        widget=forms.NumberInput(
            attrs={
                "min": library.SHARE_DAYS_MIN,
                "max": library.SHARE_DAYS_MAX,
                "inputmode": "numeric",
            }
        ),
        help_text=f"{library.SHARE_DAYS_MIN} to {library.SHARE_DAYS_MAX} days, and never "
        "longer than the recording is kept.",
        error_messages={"required": "Enter how many days the link works.", **_WHOLE_DAYS},
    )
    passcode = forms.CharField(
        label="Passcode (optional)",
        required=False,
        max_length=library.PASSCODE_MAX,
        help_text=f"{library.PASSCODE_MIN} to {library.PASSCODE_MAX} characters. Send it "
        "separately from the link.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "max_length": f"Use at most {library.PASSCODE_MAX} characters.",
        },
    )
    allow_download = forms.BooleanField(
        label="Let people with the link download the file", required=False
    )


class SharePasscodeForm(forms.Form):
    passcode = forms.CharField(
        label="Passcode",
        max_length=library.PASSCODE_MAX,
        help_text="The person who shared the recording has it.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Enter the passcode.",
            "max_length": "That passcode is not right.",
        },
    )


class QAOpenForm(forms.Form):
    purpose = forms.CharField(
        label="Why you open it",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"At least {qa.PURPOSE_MIN} characters, kept in the audit log, e.g. "
        "“Checking audio sync after the 2.3 recorder release”.",
        error_messages={"required": "Say why you open this recording."},
    )

from typing import Any

from django import forms

from common.header_text import reject_control_characters

from ..models import Newsletter

BODY_MAX_LENGTH = 100_000


class SignupForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class NewsletterForm(forms.ModelForm):
    body_markdown = forms.CharField(
        label="Body (Markdown)",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Headings (#), lists, links and tables. Raw HTML is shown as text.",
    )

    class Meta:
        model = Newsletter
        fields = ["subject", "body_markdown"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The subject is the messages' Subject header.
        self.fields["subject"].validators.append(reject_control_characters)

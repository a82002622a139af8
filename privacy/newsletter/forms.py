from django import forms

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

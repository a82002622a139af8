from django import forms

from privacy.models import PolicyDocument


class PolicySeenForm(forms.Form):
    """The banner's "Got it": which version was seen, and where to go back to."""

    document = forms.ChoiceField(choices=PolicyDocument.choices)
    version = forms.IntegerField(min_value=1)
    next = forms.CharField(required=False, max_length=2000)

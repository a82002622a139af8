from typing import Any

from django import forms

from .email_categories import SUBSCRIPTIONS


class EmailPreferencesForm(forms.Form):
    """One checkbox per subscription category; transactional mail is not a choice."""

    def __init__(self, *args: Any, current: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in SUBSCRIPTIONS:
            self.fields[item.category] = forms.BooleanField(
                label=item.category.label,
                help_text=item.description,
                required=False,
                initial=current.get(item.category, item.subscribed_by_default),
            )

    def choices(self) -> dict[str, bool]:
        return {item.category: self.cleaned_data[item.category] for item in SUBSCRIPTIONS}

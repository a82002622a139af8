from typing import Any

from django import forms

from .email_categories import MARKETING_CATEGORIES, SUBSCRIPTIONS

UNVERIFIED_OPT_IN = (
    "Confirm your email address first: we send newsletters and offers only to addresses "
    "we know are yours."
)


class EmailPreferencesForm(forms.Form):
    """One checkbox per subscription category; transactional mail is not a choice.

    `may_opt_in=False` (an account whose address is not verified yet) refuses new
    marketing subscriptions; stopping anything is always allowed.
    """

    def __init__(
        self, *args: Any, current: dict[str, bool], may_opt_in: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.may_opt_in = may_opt_in
        for item in SUBSCRIPTIONS:
            self.fields[item.category] = forms.BooleanField(
                label=item.category.label,
                help_text=item.description,
                required=False,
                initial=current.get(item.category, item.subscribed_by_default),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.may_opt_in:
            for category in MARKETING_CATEGORIES:
                if cleaned.get(category) and not self.current.get(category):
                    self.add_error(category, UNVERIFIED_OPT_IN)
        return cleaned

    def choices(self) -> dict[str, bool]:
        return {item.category: self.cleaned_data[item.category] for item in SUBSCRIPTIONS}

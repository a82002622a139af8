"""Money and rates as finance reads them: amounts come in cents, rates as fractions."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def cents(value: int | None, currency: str = "") -> str:
    """1234 → "12.34" (with the currency code in front when given)."""
    if value is None:
        return "—"
    amount = f"{Decimal(int(value)) / 100:,.2f}"
    return f"{currency.upper()} {amount}" if currency else amount


@register.filter
def percent(value: float | None) -> str:
    """0.125 → "12.5%"; no value (nothing to divide by) → "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"

"""How long billing keeps its records: invoices are tax records, kept for
settings.BILLING_RECORDS_YEARS from their date and then deleted."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .models import Invoice


def invoice_cutoff(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    years = settings.BILLING_RECORDS_YEARS
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February in a year without one
        return now.replace(year=now.year - years, day=28)


def purge_expired_invoices(*, now: datetime | None = None) -> int:
    deleted, _ = Invoice.objects.filter(created__lt=invoice_cutoff(now)).delete()
    return deleted

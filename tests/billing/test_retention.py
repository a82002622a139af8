"""Invoices are kept for BILLING_RECORDS_YEARS from their date, then deleted."""

from datetime import UTC, datetime

from billing import retention
from billing.models import Invoice
from billing.tasks import purge_expired_invoices
from tests.billing.factories import InvoiceFactory

NOW = datetime(2033, 6, 1, 12, 0, tzinfo=UTC)


def test_invoices_older_than_seven_years_go_and_younger_ones_stay(db, settings):
    settings.BILLING_RECORDS_YEARS = 7
    old = InvoiceFactory(created=datetime(2026, 5, 31, 12, 0, tzinfo=UTC))
    edge = InvoiceFactory(created=datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    young = InvoiceFactory(created=datetime(2030, 1, 1, tzinfo=UTC))

    assert retention.purge_expired_invoices(now=NOW) == 1

    left = set(Invoice.objects.values_list("pk", flat=True))
    assert left == {edge.pk, young.pk}
    assert old.pk not in left


def test_the_cutoff_of_a_leap_day_falls_back_to_the_28th(settings):
    settings.BILLING_RECORDS_YEARS = 7
    cutoff = retention.invoice_cutoff(datetime(2032, 2, 29, tzinfo=UTC))
    assert cutoff == datetime(2025, 2, 28, tzinfo=UTC)


def test_the_daily_task_runs_the_purge(db, settings):
    settings.BILLING_RECORDS_YEARS = 7
    InvoiceFactory(created=datetime(2001, 1, 1, tzinfo=UTC))
    assert purge_expired_invoices.delay().get() == 1
    assert not Invoice.objects.exists()

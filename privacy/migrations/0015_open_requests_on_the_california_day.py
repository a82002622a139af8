"""Open requests received in a California evening were dated from the UTC day, one day late.

Their due dates are worked out again from the California date of receipt, as new requests
now are. Closed requests keep what they were answered under.
"""

from django.db import migrations

from privacy import deadlines

OPEN_STATES = ("unverified", "received", "in_progress")
RESPONSE_KINDS = ("access", "delete", "correct")
CLOCKS = {
    clock.name: clock
    for clock in (
        deadlines.SHINE_THE_LIGHT,
        deadlines.SHINE_THE_LIGHT_ELSEWHERE,
        deadlines.CCPA_RESPOND,
        deadlines.CCPA_EXTENSION,
        deadlines.CCPA_OPT_OUT,
    )
}


def redate_open_requests(apps, schema_editor):
    PrivacyRequest = apps.get_model("privacy", "PrivacyRequest")
    for request in PrivacyRequest.objects.filter(state__in=OPEN_STATES).iterator():
        clock = CLOCKS.get(request.clock)
        if clock is None:
            continue
        received = deadlines.legal_date(request.received_at)
        due = (deadlines.CCPA_EXTENSION if request.extended_at else clock).due(received)
        confirm = (
            deadlines.CCPA_CONFIRM_RECEIPT.due(received)
            if request.kind in RESPONSE_KINDS
            else request.confirm_due_on
        )
        if (due, confirm) != (request.due_on, request.confirm_due_on):
            PrivacyRequest.objects.filter(pk=request.pk).update(due_on=due, confirm_due_on=confirm)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0014_consent_source_contest_entry")]

    operations = [migrations.RunPython(redate_open_requests, migrations.RunPython.noop)]

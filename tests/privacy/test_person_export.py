"""Access: every app's export for one person, and the ZIP an access request delivers."""

import csv
import io
import json
import zipfile

import pytest

from meetings.attendance import summaries_for
from privacy.requests import data_map
from privacy.requests.export_zip import build_export_zip
from privacy.subjects import Subject
from recordings import privacy_data as recordings_data
from recordings import storage
from tests.privacy.people import (
    GUEST_EMAIL,
    PERSON_EMAIL,
    SECOND_EMAIL,
    SHARE_PASSCODE,
    TOTP_SECRET,
    all_rows,
    build_world,
)
from tests.recordings.factories import MEDIA_BYTES

OTHER_PEOPLE = (
    "olga.other@example.com",
    "ivy.invitee@example.com",
    "xena@example.com",
    "gus@example.com",
    GUEST_EMAIL,
    "sam.staff@example.com",
    "Sam Staff",
    "Olga Other",
)
SECTIONS = {
    "accounts": {"account", "email_addresses", "meeting_room_preferences", "sign_in_security"},
    "meetings": {
        "meetings_hosted",
        "sittings_hosted",
        "invitations",
        "attendance",
        "meeting_reminders",
        "usage_summaries",
    },
    "recordings": {"recordings_hosted", "share_links", "consent_receipts"},
    "support": {"tickets", "answers"},
    "billing": {"customer", "subscriptions", "invoices"},
    "contests": {"contest_entries"},
    "feedback": {"call_quality_answers"},
    "privacy": {
        "email_preferences",
        "email_consent_log",
        "emails_sent",
        "cookie_consents",
        "sale_sharing_opt_out",
        "newsletter_signups",
        "newsletter_deliveries",
        "policy_notices",
        "policy_acknowledgements",
        "disclosures",
    },
}


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def export(world):
    return data_map.export_person(Subject.for_user(world.person))


def test_every_app_exports_every_section_with_the_person_s_rows(world, export):
    assert {app: set(sections) for app, sections in export.items()} == SECTIONS
    for app, sections in export.items():
        for section, rows in sections.items():
            assert rows, f"{app}/{section} is empty"

    assert export["accounts"]["account"][0]["email"] == PERSON_EMAIL
    assert export["accounts"]["account"][0]["company"] == "Pat & Co"
    assert {a["email"] for a in export["accounts"]["email_addresses"]} == {
        PERSON_EMAIL,
        SECOND_EMAIL,
    }
    assert [m["title"] for m in export["meetings"]["meetings_hosted"]] == ["Pat's planning"]
    assert export["meetings"]["meetings_hosted"][0]["invitees"] == 1
    sitting = export["meetings"]["sittings_hosted"][0]
    # Gus rejoined from a phone (address in capitals): still one person, overlap once.
    assert (sitting["participants"], sitting["most_at_once"], sitting["person_minutes"]) == (
        2,
        2,
        65.0,
    )
    expected = summaries_for([world.hosted_occurrence])[world.hosted_occurrence.pk]
    assert (sitting["participants"], sitting["most_at_once"], sitting["person_minutes"]) == (
        expected.unique_participants,
        expected.peak_concurrent,
        expected.person_minutes,
    )
    assert [i["meeting_title"] for i in export["meetings"]["invitations"]] == ["Olga's review"]
    # As host of their own meeting, twice signed in at Olga's, once as a guest (2nd address).
    attendance = export["meetings"]["attendance"]
    assert len(attendance) == 4
    assert {(a["meeting_title"], a["as_host"]) for a in attendance} == {
        ("Pat's planning", True),
        ("Olga's review", False),
    }
    assert any(a["email"] == SECOND_EMAIL for a in attendance)
    assert [r["title"] for r in export["recordings"]["recordings_hosted"]] == ["Planning rec"]
    assert export["recordings"]["share_links"][0]["has_passcode"] is True
    assert [c["display_name"] for c in export["recordings"]["consent_receipts"]] == ["+Pat"]
    assert [t["reference"] for t in export["support"]["tickets"]] == [world.ticket.reference]
    assert [a["body"] for a in export["support"]["answers"]] == ["@SUM(1,2) answer"]
    assert export["privacy"]["cookie_consents"][0]["global_privacy_control"] is True
    assert export["privacy"]["disclosures"][0]["third_party"]
    assert export["privacy"]["newsletter_deliveries"][0]["newsletter"] == "Spring news"
    assert export["billing"]["customer"] == [
        {"stripe_customer_id": "cus_pat", "created_at": world.customer.created_at.isoformat()}
    ]


def test_the_billing_export_has_the_subscription_and_invoice_references(world, export):
    [subscription] = export["billing"]["subscriptions"]
    assert subscription["stripe_subscription_id"] == "sub_pat"
    assert subscription["plan"] == world.subscription.plan.name
    assert subscription["status"] == "Canceled"
    assert (subscription["card_brand"], subscription["card_last4"]) == ("visa", "4242")
    assert subscription["seats"] == 1
    assert subscription["current_period_end"] == world.subscription.current_period_end.isoformat()
    [invoice] = export["billing"]["invoices"]
    assert invoice["number"] == "CONF-0042"
    assert (invoice["amount_due_cents"], invoice["amount_paid_cents"]) == (1500, 1500)
    assert invoice["paid_at"] == world.invoice.paid_at.isoformat()
    assert invoice["hosted_invoice_url"] == "https://invoice.stripe.com/i/acct_test/in_pat"


def test_the_export_is_json_with_iso_times(export):
    document = json.loads(json.dumps(export))
    joined = document["accounts"]["account"][0]["date_joined"]
    assert "T" in joined and joined.endswith("+00:00")
    assert isinstance(document["meetings"]["meetings_hosted"][0]["meeting_id"], str)


def test_the_export_holds_no_one_else_s_rows(world, export):
    text = json.dumps(export)
    for other in OTHER_PEOPLE:
        assert other not in text
    assert world.other_ticket.reference not in text
    assert "internal: call them" not in text  # staff's own notes
    assert len(export["privacy"]["disclosures"]) == 1
    assert "CONF-0043" not in text  # Olga's invoice
    assert [c["stripe_customer_id"] for c in export["billing"]["customer"]] == ["cus_pat"]


def test_the_export_holds_no_secrets(world, export):
    text = json.dumps(export)
    world.person.refresh_from_db()
    assert world.person.password not in text
    assert world.token.key not in text
    assert TOTP_SECRET not in text
    assert SHARE_PASSCODE not in text
    assert "pbkdf2" not in text and "md5$" not in text
    for link in world.hosted_recording.share_links.all():
        assert link.token not in text and link.passcode_hash not in text
    assert world.hosted_meeting.join_token not in text
    assert world.hosted_meeting.passcode not in text
    tokens = [r for r in export["accounts"]["sign_in_security"] if r["kind"] == "API token"]
    assert tokens[0]["what"].startswith("An API token exists, created ")


def test_an_attendee_without_an_account_gets_their_rows(world):
    subject = Subject.for_email(" GIA.Guest@Example.NET ")

    export = data_map.export_person(subject)

    assert subject.user is None and subject.email == GUEST_EMAIL
    assert [a["display_name"] for a in export["meetings"]["attendance"]] == ["Gia"]
    assert [i["email"] for i in export["meetings"]["invitations"]] == [GUEST_EMAIL]
    assert [c["email"] for c in export["recordings"]["consent_receipts"]] == [GUEST_EMAIL]
    assert export["accounts"]["account"] == []
    assert export["meetings"]["meetings_hosted"] == []
    assert export["billing"] == {"customer": [], "subscriptions": [], "invoices": []}
    text = json.dumps(export)
    assert PERSON_EMAIL not in text and "xena@" not in text


def test_for_email_finds_the_account_behind_the_address(world):
    subject = Subject.for_email("PAT.PERSON@example.com")
    assert subject.user == world.person
    assert subject.emails == (PERSON_EMAIL, SECOND_EMAIL)


def test_a_subject_needs_an_address():
    with pytest.raises(ValueError, match="email"):
        Subject(user=None, email="  ")


# --- The ZIP -------------------------------------------------------------------------


@pytest.fixture
def built(world, tmp_path):
    percents = []
    path = build_export_zip(
        Subject.for_user(world.person),
        destination=tmp_path / "out" / "export.zip",
        progress=percents.append,
    )
    return path, percents


def _csv_rows(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_zip_has_data_json_csvs_readme_and_the_recording(world, built):
    path, percents = built

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("data.json"))
        readme = archive.read("README.txt").decode()
        media_name = recordings_data.export_name(world.hosted_recording)
        media = archive.read(media_name)

    assert {"data.json", "README.txt", "accounts/account.csv", "meetings/attendance.csv"} <= names
    for app, sections in SECTIONS.items():
        for section in sections:
            assert f"{app}/{section}.csv" in names
    assert media_name.startswith("recordings/") and media == MEDIA_BYTES
    assert data["about"] == PERSON_EMAIL
    assert set(data["data"]) == set(SECTIONS)
    assert "data.json" in readme and "formula" in readme and "recordings/" in readme
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(set(percents))


def test_zip_csv_cells_that_look_like_formulas_are_defused(built):
    path, _ = built

    with zipfile.ZipFile(path) as archive:
        tickets = _csv_rows(archive, "support/tickets.csv")
        answers = _csv_rows(archive, "support/answers.csv")
        attendance = _csv_rows(archive, "meetings/attendance.csv")
        emails = _csv_rows(archive, "privacy/emails_sent.csv")
        account = _csv_rows(archive, "accounts/account.csv")

    assert tickets[0]["message"] == '\'=HYPERLINK("http://evil.example","click")'
    assert answers[0]["body"] == "'@SUM(1,2) answer"
    assert "'+Pat" in {row["display_name"] for row in attendance}
    assert "Your receipt" in {row["subject"] for row in emails}
    assert account[0]["email"] == PERSON_EMAIL
    assert account[0]["is_active"] == "yes"


def test_a_negative_number_stays_a_number_and_text_starting_with_minus_is_defused(world, tmp_path):
    world.ticket.message = "-1 is not a formula to run"
    world.ticket.save()
    path = build_export_zip(Subject.for_user(world.person), destination=tmp_path / "e.zip")
    with zipfile.ZipFile(path) as archive:
        tickets = _csv_rows(archive, "support/tickets.csv")
    assert tickets[0]["message"] == "'-1 is not a formula to run"


def test_the_zip_leaves_out_a_missing_recording_file(world, tmp_path):
    storage.composed_path(world.hosted_recording).unlink()

    path = build_export_zip(Subject.for_user(world.person), destination=tmp_path / "e.zip")

    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".mp4")]
        data = json.loads(archive.read("data.json"))
    assert data["data"]["recordings"]["recordings_hosted"][0]["file_in_export"] == "not available"


def test_a_crash_midway_leaves_neither_a_zip_nor_a_partial_file(world, tmp_path):
    def crash(percent):
        if percent >= 50:
            raise RuntimeError("worker killed")

    destination = tmp_path / "exports" / "export.zip"
    with pytest.raises(RuntimeError):
        build_export_zip(Subject.for_user(world.person), destination=destination, progress=crash)

    assert list(destination.parent.iterdir()) == []


def test_a_rebuild_replaces_the_previous_zip_whole(world, tmp_path):
    destination = tmp_path / "exports" / "export.zip"
    destination.parent.mkdir()
    destination.write_bytes(b"an older export")

    build_export_zip(Subject.for_user(world.person), destination=destination)

    assert zipfile.is_zipfile(destination)
    assert [p.name for p in destination.parent.iterdir()] == ["export.zip"]


def test_export_rows_are_flat_json_values(export):
    for row in all_rows(export):
        for value in row.values():
            assert value is None or isinstance(value, str | int | float | bool | list)

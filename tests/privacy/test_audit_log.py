import pytest
from django.core.management import CommandError, call_command

from privacy import audit
from privacy.models import AuditEntry, AuditHead


@pytest.fixture
def three_entries(user):
    for number in range(3):
        audit.record(
            actor=user,
            action="profile.view",
            target_type="user",
            target_id=str(number),
            purpose="test",
        )


def test_an_untouched_chain_verifies(three_entries, capsys):
    call_command("verify_audit_log")
    assert "verifies: 3 entries" in capsys.readouterr().out


def test_an_edited_entry_is_detected(three_entries):
    second = AuditEntry.objects.order_by("pk")[1]
    AuditEntry.objects.filter(pk=second.pk).update(purpose="nothing to see")

    with pytest.raises(CommandError, match=f"at entry {second.pk}"):
        call_command("verify_audit_log")


def test_a_removed_entry_is_detected(three_entries):
    AuditEntry.objects.order_by("pk")[1].delete()
    with pytest.raises(CommandError):
        call_command("verify_audit_log")


def test_a_removed_last_entry_is_detected_by_the_head(three_entries):
    AuditEntry.objects.order_by("pk").last().delete()
    with pytest.raises(CommandError, match="entries removed"):
        call_command("verify_audit_log")


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry(three_entries):
    first = AuditEntry.objects.order_by("pk").first()
    first.purpose = "forged"
    first.entry_hash = audit._digest(first)
    AuditEntry.objects.filter(pk=first.pk).update(purpose="forged", entry_hash=first.entry_hash)

    check = audit.verify_chain()
    assert not check.ok
    assert check.first_bad == AuditEntry.objects.order_by("pk")[1].pk
    assert AuditHead.objects.get().entries == 3

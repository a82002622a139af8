"""The audit log: who opened or changed whose personal data, when and why.

Tamper-evident: each entry's hash covers its fields and the previous entry's hash, so a
changed, removed or reordered entry breaks every hash after it (``verify_chain``). Writers
lock the one ``AuditHead`` row, so the chain never forks under concurrent writers.

An entry can never be edited, so it never holds an email address: an account is named
by its id, and an address written into any field becomes its keyed hash. Erasing a
person then leaves nothing of them in clear here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .keys import subject_key
from .models import AuditEntry, AuditHead

GENESIS = "0" * 64
_EMAIL = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+\.[A-Za-z]{2,}")


def _without_addresses(value: Any) -> Any:
    """`value` with every email address replaced by the keyed hash that names it elsewhere."""
    if isinstance(value, str):
        return _EMAIL.sub(lambda match: f"email-key:{subject_key(match.group())[:16]}", value)
    if isinstance(value, list | tuple):
        return [_without_addresses(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_addresses(item) for key, item in value.items()}
    return value


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if getattr(actor, "pk", None) is not None:
        return f"user:{actor.pk}"
    return str(_without_addresses(str(actor)))


def search_key(text: str) -> str:
    """How an entry names what staff searched for: a keyed hash, since a typed search can
    be an address or a name. Staff who know the text can recompute it; the log alone
    cannot be read back."""
    text = text.strip()
    return f"search-key:{subject_key(text)[:16]}" if text else ""


def _digest(entry: AuditEntry) -> str:
    body = json.dumps(
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor_id,
            "actor_label": entry.actor_label,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "purpose": entry.purpose,
            "details": entry.details,
            "previous": entry.previous_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    target_type: str,
    target_id: str,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry (inside the caller's transaction, if any)."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_hash": GENESIS}
        )
        is_user = actor is not None and getattr(actor, "pk", None) is not None
        entry = AuditEntry(
            at=timezone.now(),
            actor=actor if is_user else None,
            actor_label=actor_label(actor),
            action=action,
            target_type=target_type,
            target_id=str(_without_addresses(str(target_id))),
            purpose=_without_addresses(purpose),
            details=_without_addresses(details or {}),
            previous_hash=head.last_hash,
        )
        entry.entry_hash = _digest(entry)
        entry.save()
        head.last_hash = entry.entry_hash
        head.entries += 1
        head.save(update_fields=["last_hash", "entries"])
    return entry


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad: int | None = None  # the pk of the first entry that does not verify


def verify_chain() -> ChainCheck:
    previous = GENESIS
    count = 0
    for entry in AuditEntry.objects.order_by("pk").iterator():
        count += 1
        if entry.previous_hash != previous or _digest(entry) != entry.entry_hash:
            return ChainCheck(ok=False, entries=count, first_bad=entry.pk)
        previous = entry.entry_hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.entries != count):
        return ChainCheck(ok=False, entries=count, first_bad=None)
    return ChainCheck(ok=True, entries=count)


def entries_for(*, target_type: str, target_id: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(target_type=target_type, target_id=str(target_id)))


def target_of(*, entry_id: int, action: str, actor: Any, target_type: str) -> str | None:
    """The target id of entry `entry_id` if it records `action` by `actor` on a
    `target_type`, else None. Another app can then trust a reference to an entry it had
    written (a QA grant names its opening) without reading the audit table itself."""
    return (
        AuditEntry.objects.filter(pk=entry_id, action=action, actor=actor, target_type=target_type)
        .values_list("target_id", flat=True)
        .first()
    )

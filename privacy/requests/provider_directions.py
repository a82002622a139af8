"""Service providers told to delete, when a deletion request is carried out.

A business that deletes a consumer's information must direct its service providers to
delete it too (Cal. Civ. Code 1798.105(c)(1)). For every active service provider in the
registry this works out what we ask of it. Stripe is asked through its API to delete the
person's customer record, once our own erasure has committed (a rollback could not take
a deletion back), by a task that retries while Stripe is down. The hosting and email
providers have no API to call for one person; what applies to them is said, and
recorded, at once. A provider nothing here can reach is left to staff, by the history.

Each direction given is a row in the disclosure ledger, naming the person by the keyed
hash of their address and never the address, and a line in the request's history. The
dry run lists every provider and what it will be asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction

from billing import gateway
from billing import privacy_data as billing_data
from privacy.disclosures import Purpose, record_disclosure
from privacy.models import PrivacyRequest, PrivacyRequestEvent, ThirdParty
from privacy.subjects import ErasureLine, Subject

from .data_map import erase_person
from .services import record_event

APP = "service providers"
STRIPE = "stripe"
HOSTING = "aws-hosting"
EMAIL_DELIVERY = "amazon-ses"

# The request's history: a direction given (for Stripe: about to be sent), Stripe's
# confirmation that the customer is deleted, and a direction staff must give by hand.
DIRECTED = "provider_directed"
DELETED = "provider_deleted"
BY_HAND = "provider_to_direct"

# Billing's own task cancels a running subscription after the erasure. Deleting the
# customer would cancel it too, but then billing's cancellation would find nothing to
# cancel and fail; so the deletion waits for it, a few attempts at most.
WAIT_FOR_CANCELLATION_ATTEMPTS = 3

STRIPE_ASKED = (
    "delete their customer record (email, name, address, saved cards), through Stripe's "
    "API once this erasure has committed, retried while Stripe is down. Stripe keeps the "
    "invoices and payments it processed, as its own financial records"
)
STRIPE_LEDGER = "Directed to delete the customer record"
STRIPE_BY_HAND = (
    "delete their customer record ({ids}) in Stripe's dashboard: payments are not "
    "configured on this server, so its API cannot be used"
)
HOSTING_ASKED = (
    "nothing further to send: what they hold for us is on the servers, databases and "
    "storage they run for us, where this erasure deletes or anonymises it (the rows above)"
)
EMAIL_ASKED = (
    "delete what they hold about them: emails already delivered cannot be recalled, and "
    "the delivery records the provider keeps expire under its own retention"
)
OTHER_BY_HAND = (
    "no automated direction: write to them (the registry has their address) asking them "
    "to delete this person's information, and note it in this request's history"
)
BY_HAND_REASON = "Nothing here can reach them: a privacy admin gives this direction."


class WaitForCancellation(Exception):
    """Billing is still cancelling the customer's subscription; try again later."""


@dataclass(frozen=True)
class Direction:
    """What one service provider is asked to do about the person."""

    party: ThirdParty
    asked: str
    # The ledger's description (the request's reference is added when it is written).
    ledger: str = ""
    # Stripe: the person's customer records there, deleted through the API.
    customer_ids: tuple[str, ...] = ()
    # Nothing here can give it: staff write to the provider.
    by_hand: bool = False

    @property
    def note(self) -> str:
        return f"{self.party.name}: {self.asked}."

    def line(self) -> ErasureLine:
        what = f"{self.party.name}: {self.asked}"
        count = len(self.customer_ids) or 1
        if self.by_hand:
            return ErasureLine(APP, what, count, "kept", reason=BY_HAND_REASON)
        return ErasureLine(APP, what, count, "deleted")


def _email_delivery_slugs() -> set[str]:
    return {EMAIL_DELIVERY, settings.EMAIL_PROVIDER} - {""}


def _direction(party: ThirdParty, subject: Subject) -> Direction | None:
    if not party.categories:
        return None  # the registry says they receive no personal information
    if party.slug == STRIPE:
        ids = tuple(billing_data.stripe_customer_ids(subject))
        if not ids:
            return None  # no customer at Stripe: Stripe holds nothing of theirs
        if not gateway.is_configured():
            asked = STRIPE_BY_HAND.format(ids=", ".join(ids))
            return Direction(party, asked, customer_ids=ids, by_hand=True)
        return Direction(party, STRIPE_ASKED, ledger=STRIPE_LEDGER, customer_ids=ids)
    if party.slug == HOSTING:
        ledger = "Directed to delete: erased from the servers they host for us"
        return Direction(party, HOSTING_ASKED, ledger=ledger)
    if party.slug in _email_delivery_slugs():
        ledger = "Directed to delete what they hold from delivering our emails"
        return Direction(party, EMAIL_ASKED, ledger=ledger)
    return Direction(party, OTHER_BY_HAND, by_hand=True)


def directions_for(subject: Subject) -> list[Direction]:
    """One direction per active service provider in the registry that has anything to do.

    Read before the erasure: billing finds the Stripe customer through the account.
    """
    parties = ThirdParty.objects.filter(
        active=True, role=ThirdParty.Role.SERVICE_PROVIDER
    ).order_by("name", "pk")
    found = (_direction(party, subject) for party in parties)
    return [direction for direction in found if direction is not None]


def dry_run(*, subject: Subject) -> list[ErasureLine]:
    """The apps' dry run, then what each service provider would be asked."""
    lines = erase_person(subject, dry_run=True)
    if not lines:
        return lines  # we hold nothing about them, so no provider holds it for us
    return [*lines, *(direction.line() for direction in directions_for(subject))]


def erase_and_direct(*, request: PrivacyRequest, subject: Subject) -> list[ErasureLine]:
    """Erase the person's data, then direct the service providers: one transaction.

    Stripe's API is called only after it has committed. The lines returned are the
    apps' and the directions given; one left to staff is in the history instead.
    """
    directions = directions_for(subject)
    with transaction.atomic():
        lines = erase_person(subject, dry_run=False)
        if not lines:
            return lines
        for direction in directions:
            _give(request, direction)
    return [*lines, *(d.line() for d in directions if not d.by_hand)]


def _give(request: PrivacyRequest, direction: Direction) -> None:
    from . import tasks

    if direction.by_hand:
        record_event(request, action=BY_HAND, note=direction.note)
    elif direction.customer_ids:
        record_event(request, action=DIRECTED, note=direction.note)
        for customer_id in direction.customer_ids:
            # Robust: the erasure has committed whatever Stripe says; the task retries.
            transaction.on_commit(
                partial(tasks.direct_stripe_deletion.delay, request.pk, customer_id),
                robust=True,
            )
    else:
        _record(
            request, direction.party, ledger=direction.ledger, action=DIRECTED, note=direction.note
        )


def _record(
    request: PrivacyRequest, party: ThirdParty, *, ledger: str, action: str, note: str
) -> None:
    """The ledger row and the history line of one direction given."""
    record_disclosure(
        third_party=party,
        purpose=Purpose.SERVICE,
        description=f"{ledger} (erasure request {request.reference}).",
        categories=party.categories,
        # By the keyed hash alone: the address is gone by now, and the erasure may have
        # cut the request's link to the account.
        key=request.subject_key,
        reference=request.reference,
    )
    record_event(request, action=action, note=note)


def delete_at_stripe(*, request_id: int, stripe_customer_id: str, attempt: int = 0) -> str:
    """Delete one of an erased person's customers at Stripe, then record it once.

    Raises GatewayError while Stripe cannot be reached (the task retries), and
    WaitForCancellation while billing is still cancelling the customer's subscription.
    """
    request = PrivacyRequest.objects.filter(pk=request_id).first()
    if request is None:
        return "gone"  # the request's record was purged; nothing to record against
    if (
        billing_data.running_subscriptions(stripe_customer_id)
        and attempt < WAIT_FOR_CANCELLATION_ATTEMPTS
    ):
        raise WaitForCancellation(f"Subscriptions of {stripe_customer_id} are still running.")
    gateway.delete_customer(
        customer_id=stripe_customer_id,
        idempotency_key=f"erasure-delete-{request.reference}-{stripe_customer_id}",
    )
    with transaction.atomic():
        # One ledger row however often the task runs: a second run waits here, then sees
        # the history line the first one wrote.
        PrivacyRequest.objects.select_for_update().filter(pk=request.pk).first()
        party = ThirdParty.objects.get(slug=STRIPE)
        note = f"{party.name}: deleted customer record {stripe_customer_id}."
        if PrivacyRequestEvent.objects.filter(request=request, action=DELETED, note=note).exists():
            return "already recorded"
        _record(request, party, ledger=STRIPE_LEDGER, action=DELETED, note=note)
    return "deleted"

"""Staff consoles and the role check that guards them.

Each console names the role that may open it; `/staff/` lists only those the visitor
holds, and every console view is wrapped in `role_required`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .roles import (
    FINANCE,
    MARKETING,
    PRIVACY_ADMIN,
    QUALITY_ASSURANCE,
    SUPPORT,
    has_role,
    roles_of,
)

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Console:
    title: str
    description: str
    url_name: str
    role: str
    # Other roles that see part of the console (e.g. only their own ticket topics).
    also: tuple[str, ...] = ()

    def visible_to(self, held: set[str]) -> bool:
        return self.role in held or any(role in held for role in self.also)


CONSOLES: tuple[Console, ...] = (
    Console(
        "Email suppression list",
        "Addresses that unsubscribed, by category, with when and how.",
        "privacy:staff_suppressions",
        PRIVACY_ADMIN,
    ),
    Console(
        "Plan catalogue",
        "The plans on sale and the limits each one grants.",
        "billing:staff_plans",
        FINANCE,
    ),
    Console(
        "Recordings for quality assurance",
        "Recordings whose hosts allowed quality-assurance use; every opening is audited.",
        "recordings:staff_qa",
        QUALITY_ASSURANCE,
    ),
    Console(
        "Call quality",
        "The call-quality survey over 90 days: ratings, response rate, reasons, browsers, "
        "media workers and the worst calls; CSV. Every view is audited.",
        "feedback:staff_quality",
        QUALITY_ASSURANCE,
    ),
    Console(
        "Cookie consent receipts",
        "What a browser or an account agreed to about cookies, and when; every lookup is audited.",
        "privacy:staff_consents",
        PRIVACY_ADMIN,
    ),
    Console(
        "Newsletter",
        "Write, preview and send the newsletter to confirmed subscribers, with a send log.",
        "newsletter:staff_list",
        MARKETING,
    ),
    Console(
        "Contests",
        "Create contests with their official rules, follow entries, run and verify the draw.",
        "contests:staff_list",
        MARKETING,
    ),
    Console(
        "Contact tickets",
        "Messages sent through the contact form: answer, add notes, close. Privacy admins and "
        "finance see their own topics.",
        "support:staff_tickets",
        SUPPORT,
        also=(PRIVACY_ADMIN, FINANCE),
    ),
    Console(
        "California privacy requests",
        "The request queue with legal due dates, overdue ones first; each request's history "
        "and actions.",
        "privacy:staff_requests",
        PRIVACY_ADMIN,
    ),
    Console(
        "Privacy request figures",
        "Received, complied, denied and lapsed per kind, and the median days to answer, by year.",
        "privacy:staff_request_metrics",
        PRIVACY_ADMIN,
    ),
    Console(
        "Disclosure ledger",
        "Every disclosure of information to a third party; record legal disclosures; CSV export.",
        "privacy:staff_ledger",
        PRIVACY_ADMIN,
    ),
    Console(
        "Third-party registry",
        "Who receives personal information, their role, categories and agreements.",
        "privacy:staff_third_parties",
        PRIVACY_ADMIN,
    ),
    Console(
        "Finance",
        "MRR, ARR, churn and ARPA with their definitions; subscriptions, customers, failed "
        "payments and dunning; CSV exports.",
        "finance:overview",
        FINANCE,
    ),
    Console(
        "Failed Stripe events",
        "Webhook events from Stripe whose processing kept failing, with the error and a retry.",
        "billing:staff_failed_events",
        FINANCE,
    ),
)


def consoles_for(user: Any) -> list[Console]:
    held = roles_of(user)
    return [console for console in CONSOLES if console.visible_to(held)]


def is_staff_member(user: Any) -> bool:
    return bool(roles_of(user))


def role_required(role: str) -> Callable[[View], View]:
    """Anonymous visitors go to the login page; signed-in ones without the role get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):  # type: ignore[arg-type]
                raise PermissionDenied("Your role does not include this console.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

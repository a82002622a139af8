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

from .roles import FINANCE, PRIVACY_ADMIN, QUALITY_ASSURANCE, has_role, roles_of

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Console:
    title: str
    description: str
    url_name: str
    role: str


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
)


def consoles_for(user: Any) -> list[Console]:
    held = roles_of(user)
    return [console for console in CONSOLES if console.role in held]


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

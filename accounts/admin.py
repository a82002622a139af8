"""Django's admin pages that name people write the audit log, as the staff consoles do.

The admin is for superusers. Of the models it holds, three name people: email addresses
(allauth), API tokens (DRF's, listed by account) and MFA authenticators. Their list,
change, history and delete pages write one entry per view; the rest of the admin (groups,
periodic tasks) names nobody. The third-party admin classes are kept and extended, so
their columns, filters and actions stay as their packages made them.
"""

from __future__ import annotations

from typing import Any

from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from privacy import audit

PURPOSE = "administer accounts in Django's admin"


class AuditedAdmin(admin.ModelAdmin):
    """One audit entry per page of this model that the admin shows (GET, 200)."""

    def _audit(
        self, request: HttpRequest, response: HttpResponse, view: str, target: str, **details: Any
    ) -> None:
        if request.method != "GET" or response.status_code != 200:
            return  # a redirect (no such object) or a POST (its own change is logged)
        audit.record(
            actor=request.user,
            action=f"admin.{view}",
            target_type=self.opts.label_lower,
            target_id=target,
            purpose=PURPOSE,
            details=details,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        listing = getattr(response, "context_data", None) or {}
        if "cl" in listing:
            # Rows by pk; DRF's TokenProxy answers its user's id there, never the key.
            shown = [str(row.pk) for row in listing["cl"].result_list]
            self._audit(request, response, "changelist", "list", shown=shown)
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        self._audit(request, response, "change", object_id)
        return response

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        response = super().history_view(request, object_id, extra_context)
        self._audit(request, response, "history", object_id)
        return response

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        response = super().delete_view(request, object_id, extra_context)
        self._audit(request, response, "delete", object_id)
        return response


class AuditedEmailAddressAdmin(AuditedAdmin, EmailAddressAdmin):
    pass


class AuditedTokenAdmin(AuditedAdmin, TokenAdmin):
    # The package's form offers every account in a drop-down; an id field lists nobody.
    raw_id_fields = ("user",)


class AuditedAuthenticatorAdmin(AuditedAdmin, AuthenticatorAdmin):
    pass


# The packages registered theirs first (they come before accounts in INSTALLED_APPS).
for model, model_admin in (
    (EmailAddress, AuditedEmailAddressAdmin),
    (TokenProxy, AuditedTokenAdmin),
    (Authenticator, AuditedAuthenticatorAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)

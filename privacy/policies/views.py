from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privacy.email_categories import SUBSCRIPTIONS


def policy(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "privacy/policy.html",
        {
            "contact_email": settings.PRIVACY_CONTACT_EMAIL,
            "postal_address": settings.COMPANY_POSTAL_ADDRESS,
            "effective_date": "2026-11-28",
            "subscriptions": SUBSCRIPTIONS,
        },
    )

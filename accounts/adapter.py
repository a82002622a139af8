from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest

from meetings.ratelimit import client_address
from privacy.email_categories import Category
from privacy.mailer import send_email


class AccountAdapter(DefaultAccountAdapter):
    """Account mail (verification, password reset, notices) leaves through privacy's
    mailer as transactional messages, like every other email; its rate limits count the
    client behind our proxies, as ours do."""

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_address(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": get_current_site(request)}
            | context,
        )
        html = ""
        if isinstance(message, EmailMultiAlternatives):
            html = next(
                (str(body) for body, mime in message.alternatives if mime == "text/html"), ""
            )
        send_email(
            to=email,
            subject=str(message.subject),
            text=str(message.body),
            html=html,
            category=Category.TRANSACTIONAL,
        )

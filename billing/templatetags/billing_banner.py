"""The banner base.html shows while the account's subscription is past due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings

from billing.mirror import current_subscription
from billing.models import Subscription

register = template.Library()


@register.inclusion_tag("billing/past_due_banner_content.html", takes_context=True)
def past_due_banner(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"subscription": None}
    subscription = current_subscription(user)
    if subscription is None or subscription.status != Subscription.Status.PAST_DUE:
        return {"subscription": None}
    since = subscription.past_due_since or subscription.synced_at
    grace_ends = since + timedelta(days=settings.BILLING_GRACE_DAYS) if since else None
    return {"subscription": subscription, "grace_ends": grace_ends}

"""Plans we sell, and the mirror of what Stripe holds for each customer.

We store Stripe's ids, statuses, periods and amounts, and a card's brand and last four
digits for display: never a card number, expiry or anything else about the card.
"""

from django.conf import settings
from django.db import models


class Plan(models.Model):
    """A plan on sale (or retired), with what it entitles an account to."""

    class Interval(models.TextChoices):
        NONE = "", "Free"
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    interval = models.CharField(max_length=8, choices=Interval.choices, blank=True)
    # Price per interval in the currency's smallest unit; per seat when `per_seat`.
    amount_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    per_seat = models.BooleanField(default=False)
    max_participants = models.PositiveIntegerField()
    max_meeting_minutes = models.PositiveIntegerField()
    recording_allowed = models.BooleanField()
    recording_retention_days = models.PositiveIntegerField()
    # Stripe's product and price ids (a legacy Plan id works as a price id too).
    stripe_product_id = models.CharField(max_length=64, blank=True)
    stripe_price_id = models.CharField(max_length=64, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "amount_cents"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.amount_cents == 0


class Promotion(models.Model):
    """A promotion finance created: at Stripe, one coupon and one promotion code.

    The coupon holds the discount and which products it applies to; the promotion code
    holds what customers type and its limits (redemptions, expiry, first-time only).
    """

    class Duration(models.TextChoices):
        ONCE = "once", "Once (the first invoice)"
        REPEATING = "repeating", "Repeating, for a number of months"
        FOREVER = "forever", "Forever"

    code = models.CharField(max_length=40, unique=True)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off_cents = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd")
    duration = models.CharField(max_length=12, choices=Duration.choices)
    duration_in_months = models.PositiveSmallIntegerField(null=True, blank=True)
    # No plans: every paid plan.
    plans = models.ManyToManyField(Plan, blank=True, related_name="promotions")
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    first_time_only = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    stripe_coupon_id = models.CharField(max_length=64, unique=True)
    stripe_promotion_code_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.code


class Customer(models.Model):
    """An account's Stripe customer. Kept after the account goes while invoices are kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billing_customer",
    )
    stripe_customer_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class Subscription(models.Model):
    """Our mirror of one Stripe subscription, refreshed from Stripe after each event."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        UNPAID = "unpaid", "Unpaid"
        CANCELED = "canceled", "Canceled"
        PAUSED = "paused", "Paused"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=24, choices=Status.choices)
    quantity = models.PositiveIntegerField(default=1)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    # When the subscription first went past due in its current run of failures.
    past_due_since = models.DateTimeField(null=True, blank=True)
    card_brand = models.CharField(max_length=24, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # The discount Stripe reports on the subscription now (none: all blank).
    promotion = models.ForeignKey(
        Promotion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    discount_percent_off = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    discount_amount_off_cents = models.PositiveIntegerField(null=True, blank=True)
    discount_duration = models.CharField(max_length=12, blank=True)
    discount_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "plan"])]

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id} {self.status}"


class Invoice(models.Model):
    """Our mirror of a Stripe invoice; kept for the years tax law asks."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24)
    currency = models.CharField(max_length=3, default="usd")
    amount_due = models.IntegerField(default=0)
    amount_paid = models.IntegerField(default=0)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    # Stripe's total_discount_amounts, and the promotion they came from.
    discount_cents = models.IntegerField(default=0)
    promotion = models.ForeignKey(
        Promotion, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.stripe_invoice_id} {self.status}"


class Redemption(models.Model):
    """A promotion applied to a subscription, as the mirror first saw it at Stripe."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="redemptions"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "subscription"], name="one_redemption_per_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} on {self.subscription_id}"


class MrrChange(models.Model):
    """One change of a subscription's monthly recurring revenue: the metrics' raw facts.

    Written whenever the mirror's MRR for a subscription changes (Stripe's definition:
    active and past_due subscriptions, normalised to a month, trials and free excluded).
    """

    class Kind(models.TextChoices):
        NEW = "new", "New"
        EXPANSION = "expansion", "Expansion"
        CONTRACTION = "contraction", "Contraction"
        CHURN = "churn", "Churn"
        REACTIVATION = "reactivation", "Reactivation"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="mrr_changes"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_mrr_cents = models.IntegerField()
    to_mrr_cents = models.IntegerField()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_mrr_cents}->{self.to_mrr_cents} at {self.at:%Y-%m-%d}"


class WebhookEvent(models.Model):
    """A Stripe event as received: stored once by id, processed after the response."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    stripe_event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField()  # Stripe's own time for the event
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.stripe_event_id} {self.type} {self.status}"

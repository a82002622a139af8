"""The promotions table: per promotion, redemptions, the discount given on invoices, and
the MRR its discounts take off now. SQL aggregates, one query per figure."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum

from billing.models import Invoice, Promotion, Redemption

from .metrics import counted_subscriptions, mrr_now_cents


@dataclass(frozen=True)
class PromotionRow:
    promotion: Promotion
    redemptions: int
    discount_given: int  # cents taken off invoices, as Stripe reported them
    subscriptions_now: int  # counted subscriptions carrying it now
    mrr_before: int  # their MRR before and after the discount
    mrr_after: int

    @property
    def mrr_discount(self) -> int:
        return self.mrr_before - self.mrr_after

    @property
    def discount_text(self) -> str:
        p = self.promotion
        if p.percent_off is not None:
            return f"{p.percent_off.normalize():f}% off"
        return f"{(p.amount_off_cents or 0) / 100:.2f} {p.currency.upper()} off"

    @property
    def duration_text(self) -> str:
        p = self.promotion
        if p.duration == Promotion.Duration.REPEATING:
            return f"repeating, {p.duration_in_months} months"
        return str(p.duration)

    @property
    def plans_text(self) -> str:
        return ", ".join(plan.name for plan in self.promotion.plans.all()) or "every paid plan"


def promotion_rows() -> list[PromotionRow]:
    promotions = list(Promotion.objects.prefetch_related("plans"))
    redeemed = dict(
        Redemption.objects.values("promotion_id")
        .annotate(n=Count("id"))
        .values_list("promotion_id", "n")
    )
    given = dict(
        Invoice.objects.filter(promotion__isnull=False)
        .values("promotion_id")
        .annotate(total=Sum("discount_cents"))
        .values_list("promotion_id", "total")
    )
    rows = []
    for promotion in promotions:
        carrying = counted_subscriptions().filter(promotion=promotion)
        before, after = mrr_now_cents(carrying)
        rows.append(
            PromotionRow(
                promotion=promotion,
                redemptions=redeemed.get(promotion.pk, 0),
                discount_given=int(given.get(promotion.pk) or 0),
                subscriptions_now=carrying.count(),
                mrr_before=before,
                mrr_after=after,
            )
        )
    return rows

"""`manage.py sync_stripe_plans`: create or update a Stripe product and plan per paid plan."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing import gateway, services


class Command(BaseCommand):
    help = "Create or update a Stripe product and plan for every paid plan, and store their ids."

    def handle(self, *args: Any, **options: Any) -> None:
        if not gateway.is_configured():
            raise CommandError(
                "STRIPE_SECRET_KEY is not set: there is no Stripe account to sync to."
            )
        try:
            synced = services.sync_plans_to_stripe()
        except gateway.GatewayError as exc:
            raise CommandError(f"Stripe refused: {exc.message}") from exc
        for plan in synced:
            self.stdout.write(
                f"{plan.slug}: product {plan.stripe_product_id}, plan {plan.stripe_price_id}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(synced)} paid plan(s) synced to Stripe."))

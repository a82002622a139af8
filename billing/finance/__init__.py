"""The finance console (`/staff/finance/`): subscriptions, customers, failed payments and
the revenue metrics, all read from the Stripe mirror with SQL aggregates."""

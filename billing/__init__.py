"""Plans, subscriptions and what they entitle an account to (see entitlements.py)."""

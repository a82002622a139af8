"""Cookie consent: the banner, consent receipts, withdrawal and Global Privacy Control."""

"""The newsletter: public sign-up with double opt-in, and staff issues sent in batches."""

"""The privacy promises in code: the mailer, email preferences and unsubscribe."""

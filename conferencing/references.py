"""Short references people can read out and quote: not guessable, not sequential."""

import secrets

# No 0/O, 1/I/L: a reference read over the phone or copied by hand survives.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def short_reference(prefix: str) -> str:
    """E.g. "C-7KQ2-9XWD": 8 characters from 31, about 40 bits."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{prefix}-{code[:4]}-{code[4:]}"

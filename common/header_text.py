"""Text that ends up in an email header (a subject, a name beside an address).

A line break there would end the header and start another (header injection), and
Python's email package refuses it at send time: the form is the place to say so.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# C0 and C1 controls, DEL, and Unicode's own line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

MESSAGE = "Use one line of text, without line breaks, tabs or other control characters."


def reject_control_characters(value: str) -> None:
    """The validator for every form field whose value becomes an email header."""
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(MESSAGE, code="control_characters")

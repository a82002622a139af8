"""What an outbox row becomes on the wire: the message, its footer and headers.

Subscription mail carries a footer unsubscribe link, the postal address, and the RFC
8058 one-click headers. A message can carry text attachments, and an iCalendar
invitation that goes out the way Google Calendar and Outlook send theirs: a
`text/calendar; method=...` alternative next to the text and HTML bodies, plus the same
calendar attached as `invite.ics`.
"""

import re
from dataclasses import dataclass
from email.charset import Charset
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from .email_categories import Category
from .models import OutgoingEmail
from .tokens import make_preferences_token, make_unsubscribe_token

CALENDAR_FILENAME = "invite.ics"
_CALENDAR_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Attachment:
    """A text file sent with a message; stored in the outbox until it is sent."""

    filename: str
    content: str
    mimetype: str


@dataclass(frozen=True)
class Footer:
    """What a subscription message ends with, for one recipient and category."""

    text: str
    html: str
    unsubscribe_url: str


def unsubscribe_url(*, email: str, category: str) -> str:
    token = make_unsubscribe_token(email=email, category=category)
    return settings.SITE_URL + reverse("privacy:unsubscribe", args=[token])


def preferences_url(*, email: str) -> str:
    token = make_preferences_token(email=email)
    return settings.SITE_URL + reverse("privacy:email_preferences_link", args=[token])


def subscription_footer(*, email: str, category: str) -> Footer:
    """The footer `email` gets on a `category` message (also shown in previews)."""
    url = unsubscribe_url(email=email, category=category)
    manage = preferences_url(email=email)
    return Footer(
        text=_footer_text(category, url, manage),
        html=_footer_html(category, url, manage),
        unsubscribe_url=url,
    )


def build_message(outgoing: OutgoingEmail) -> EmailMultiAlternatives:
    text, html, headers = outgoing.text_body, outgoing.html_body, {}
    if outgoing.category != Category.TRANSACTIONAL:
        footer = subscription_footer(email=outgoing.to, category=outgoing.category)
        text = text.rstrip() + "\n\n" + footer.text
        if html:
            html = _with_html_footer(html, footer.html)
        headers = {
            "List-Unsubscribe": f"<{footer.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    if outgoing.message_id:
        # The same on every attempt: a provider that accepted it already can tell.
        headers["Message-ID"] = outgoing.message_id
    message = _Message(
        subject=outgoing.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.to],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    if outgoing.calendar:
        message.calendar = outgoing.calendar
        message.attach_alternative(outgoing.calendar, "text/calendar")
    for attachment in outgoing.attachments:
        message.attach(
            attachment["filename"],
            _payload(attachment["content"], attachment["mimetype"]),
            attachment["mimetype"],
        )
    if outgoing.calendar:
        message.attach(CALENDAR_FILENAME, outgoing.calendar.encode(), "application/ics")
    return message


def calendar_method(calendar: str) -> str:
    """The iTIP method (REQUEST, CANCEL, ...) a calendar text declares."""
    match = _CALENDAR_METHOD.search(calendar)
    if match is None:
        raise ValueError("An invitation calendar needs a METHOD property.")
    return match.group(1).upper()


class _Message(EmailMultiAlternatives):
    """Django's message, with the iTIP method on its inline calendar part.

    Calendar clients treat a message as an invitation only when the text/calendar
    alternative says `method=...` in its Content-Type, which Django cannot express.
    """

    calendar = ""

    def message(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        mime = super().message(*args, **kwargs)
        if not self.calendar:
            return mime
        for part in mime.walk():
            if part.get_content_type() == "text/calendar" and not part.get_filename():
                # Base64, so that the generator leaves the Content-Type as written here:
                # an 8bit non-ASCII body makes it rewrite the header with quoted values.
                del part["Content-Transfer-Encoding"]
                part.set_payload(self.calendar, charset=Charset("utf-8"))
                part.replace_header(
                    "Content-Type",
                    f"text/calendar; method={calendar_method(self.calendar)}; charset=UTF-8",
                )
        return mime


def _payload(content: str, mimetype: str) -> str | bytes:
    # Django encodes text/* parts itself; any other type must arrive as bytes, or a
    # non-ASCII character would be mangled on the way to base64.
    return content if mimetype.startswith("text/") else content.encode()


def _footer_text(category: str, url: str, manage: str) -> str:
    label = Category(category).label
    return (
        "--\n"
        f"You receive this because you are subscribed to “{label}”.\n"
        f"Unsubscribe with one click: {url}\n"
        f"Manage your email preferences: {manage}\n"
        f"{settings.SITE_NAME} · {settings.COMPANY_POSTAL_ADDRESS}"
    )


def _footer_html(category: str, url: str, manage: str) -> str:
    label = escape(Category(category).label)
    # <small>, not a style attribute: the same footer is shown in staff previews,
    # where the Content-Security-Policy forbids inline styles.
    return (
        "<hr><p><small>"
        f"You receive this because you are subscribed to “{label}”. "
        f'<a href="{escape(url)}">Unsubscribe</a> with one click, or '
        f'<a href="{escape(manage)}">manage your email preferences</a>.<br>'
        f"{escape(settings.SITE_NAME)} · {escape(settings.COMPANY_POSTAL_ADDRESS)}"
        "</small></p>"
    )


def _with_html_footer(html: str, footer: str) -> str:
    marker = html.lower().rfind("</body>")
    if marker == -1:
        return html + footer
    return html[:marker] + footer + html[marker:]


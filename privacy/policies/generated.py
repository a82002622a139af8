"""Policy sections written from the code's own registries, so the text cannot drift.

A line `[[generated:<name>]]` in a policy's Markdown is replaced, before rendering, by
the Markdown that GENERATORS[name] returns. Registry text is escaped, so a pipe in a
purpose cannot break a table and markup in a name stays text.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.urls import reverse

from privacy.collection import collection_points
from privacy.cookies import CATEGORY_DESCRIPTIONS, CookieCategory, cookies_in
from privacy.email_categories import SUBSCRIPTIONS, Category
from privacy.models import ThirdParty
from privacy.pi_categories import PersonalInfoCategory

MARKER = re.compile(r"\[\[generated:([a-z_]+)\]\]")
CONTACT_FORM_PATH = "/contact/?topic=privacy"

# Characters that Markdown would read as markup, plus the table separator.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def escape(text: str) -> str:
    """Registry text as literal Markdown on one line (safe inside a table cell)."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _link(label: str, url: str) -> str:
    # Markdown link targets end at ")" or whitespace: encode both.
    target = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{escape(label)}]({target})"


def cookies() -> str:
    """A table per cookie category: name, purpose, lifetime, who sets it."""
    parts = []
    for category in CookieCategory:
        parts.append(f"### {escape(category.label)}")
        parts.append(escape(CATEGORY_DESCRIPTIONS[category]))
        rows = cookies_in(category)
        if not rows:
            parts.append("No cookie in this category is set.")
            continue
        table = ["| Cookie | Purpose | Lifetime | Set by |", "| --- | --- | --- | --- |"]
        table += [
            f"| {escape(c.name)} | {escape(c.purpose)} | {escape(c.lifetime)} "
            f"| {escape(c.provider) if c.provider else 'us'} |"
            for c in rows
        ]
        parts.append("\n".join(table))
    return "\n\n".join(parts)


def email_categories() -> str:
    """The transactional kind, always sent, then every subscription and its default."""
    lines = [
        f"- **{escape(Category.TRANSACTIONAL.label)}**: sign-in and password messages, "
        "meeting invitations, receipts and legal notices such as a material change to "
        "this policy. They are part of the service, so they are always sent."
    ]
    for item in SUBSCRIPTIONS:
        default = (
            "Sent unless you turn it off."
            if item.subscribed_by_default
            else "Sent only if you ask for it."
        )
        lines.append(f"- **{escape(item.category.label)}**: {escape(item.description)} {default}")
    preferences = reverse("privacy:email_preferences")
    lines.append("")
    lines.append(
        "Every email of these optional kinds ends with instructions to unsubscribe and a "
        "link that stops that kind of email with one click, without signing in. When "
        f"signed in, you can change every choice on the {_link('email preferences', preferences)}"
        " page."
    )
    return "\n".join(lines)


def third_parties() -> str:
    """Every active entry of the third-party registry, with its terms."""
    parties = list(ThirdParty.objects.filter(active=True).order_by("name", "pk"))
    if not parties:
        return "We currently give personal information to no other company."
    labels = dict(PersonalInfoCategory.choices)
    roles = dict(ThirdParty.Role.choices)
    parts = []
    for party in parties:
        categories = ", ".join(escape(labels.get(value, value)) for value in party.categories)
        agreement = (
            "Yes, they agreed to confidentiality terms consistent with this policy."
            if party.confidentiality_agreement
            else "No."
        )
        lines = [
            f"### {escape(party.name)}",
            "",
            f"- **Role**: {escape(roles.get(party.role, party.role))}",
            f"- **Their business**: {escape(party.business)}",
            f"- **What they do for us**: {escape(party.purpose)}",
            f"- **Information they receive**: {categories or 'None'}",
            f"- **Postal address**: {escape(party.postal_address)}",
            f"- **Confidentiality agreement**: {agreement}",
        ]
        if party.privacy_policy_url:
            policy = _link(f"Privacy policy of {party.name}", party.privacy_policy_url)
            lines.append(f"- **Their privacy policy**: {policy}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def contact() -> str:
    email = settings.PRIVACY_CONTACT_EMAIL
    return "\n".join(
        [
            f"- **Contact form**: {_link('write to us', CONTACT_FORM_PATH)} "
            "and choose the topic “Privacy”.",
            f"- **Email**: {_link(email, 'mailto:' + email)}",
            f"- **Post**: {escape(settings.COMPANY_POSTAL_ADDRESS)}",
        ]
    )


def postal_contact() -> str:
    """Email and post only: the contact section of versions before the contact form."""
    email = settings.PRIVACY_CONTACT_EMAIL
    return "\n".join(
        [
            f"- **Email**: {_link(email, 'mailto:' + email)}",
            f"- **Post**: {escape(settings.COMPANY_POSTAL_ADDRESS)}",
        ]
    )


def forms_and_surveys() -> str:
    """Every form and survey we collect information through (privacy.collection)."""
    parts = []
    for point in collection_points():
        parts.append(
            "\n".join(
                [
                    f"- **{escape(point.name)}**",
                    f"  - **What it asks**: {escape(point.asks)}",
                    f"  - **What we keep**: {escape(point.kept)}",
                    f"  - **Who else sees it**: {escape(point.seen_by)}",
                ]
            )
        )
    return "\n".join(parts)


GENERATORS: dict[str, Callable[[], str]] = {
    "cookies": cookies,
    "email_categories": email_categories,
    "third_parties": third_parties,
    "contact": contact,
    "postal_contact": postal_contact,
    "forms_and_surveys": forms_and_surveys,
}


def expand(source: str) -> str:
    """Replace every marker line by its generated Markdown; an unknown one raises."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise KeyError(f"Unknown generated section {name!r}.")
        return GENERATORS[name]()

    pattern = re.compile(r"^[ \t]*" + MARKER.pattern + r"[ \t]*$", re.MULTILINE)
    return pattern.sub(replace, source)

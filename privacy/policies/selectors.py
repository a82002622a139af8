"""Reads: a policy version rendered for the page, and the changes a user has not seen."""

import re
from dataclasses import dataclass
from html import unescape

from django.db.models import Q
from django.utils.safestring import SafeString

from accounts.models import User
from privacy.markdown import render_markdown
from privacy.models import PolicyAcknowledgement, PolicyDocument

from .documents import PolicyVersion, current_version
from .generated import expand
from .links import rewrite_external_links

_SECTION = re.compile(r'<h2 id="([^"]+)">(.*?)</h2>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class TocEntry:
    anchor: str
    title: str


@dataclass(frozen=True)
class RenderedPolicy:
    version: PolicyVersion
    html: SafeString
    toc: tuple[TocEntry, ...]


def rendered_policy(*, version: PolicyVersion) -> RenderedPolicy:
    """Generated sections filled in from today's registries, sanitised, links checked."""
    html = rewrite_external_links(render_markdown(expand(version.source)))
    toc = tuple(
        TocEntry(anchor=anchor, title=unescape(_TAG.sub("", title)).strip())
        for anchor, title in _SECTION.findall(html)
    )
    return RenderedPolicy(version=version, html=html, toc=toc)


def unseen_material_changes(*, user: User) -> list[PolicyVersion]:
    """Current material versions that took effect after the user joined and that they
    have not acknowledged. One query at most; none when nothing could be pending."""
    candidates = []
    for document in PolicyDocument:
        version = current_version(document)
        if version and version.material and version.effective_start > user.date_joined:
            candidates.append(version)
    if not candidates:
        return []
    wanted = Q()
    for version in candidates:
        wanted |= Q(document=version.document, version=version.version)
    seen = set(
        PolicyAcknowledgement.objects.filter(wanted, user=user).values_list("document", "version")
    )
    return [v for v in candidates if (v.document.value, v.version) not in seen]

"""Markdown to HTML that is safe to show: policies (ours) and newsletters (staff's).

Raw HTML in the source is escaped by the sanitiser, never trusted; links keep only
http(s), mailto and relative targets. Images from other sites are dropped (their alt text
stays): a remote image in a newsletter is how a sender learns who opened it and when.
"""

import re
from urllib.parse import urlsplit

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

_EXTENSIONS = ["tables", "sane_lists", "toc"]
_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align", "scope"},
    "td": {"align"},
    # Headings keep their ids so a page can link to a section (#california).
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
_URL_SCHEMES = {"http", "https", "mailto"}


# An <img> as the sanitiser writes it: attribute values quoted, with < and > escaped.
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^<>]*\ssrc=)((?:\s[^<>]*)?)>")
_ALT = re.compile(r'\salt="([^"]*)"')


def render_markdown(source: str) -> SafeString:
    html = markdown_lib.markdown(source, extensions=_EXTENSIONS, output_format="html")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        attribute_filter=_drop_remote_image_sources,
    )
    # An image whose source was dropped leaves its alt text (already escaped) behind.
    return mark_safe(_IMG_WITHOUT_SRC.sub(_alt_text, clean))  # sanitised just above


def _drop_remote_image_sources(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not _is_own(value):
        return None
    return value


def _is_own(url: str) -> bool:
    # Relative to this site: no scheme and no host (so not "//tracker.example/p.gif").
    parts = urlsplit(url.strip())
    return not parts.scheme and not parts.netloc and not url.strip().startswith(("/\\", "\\"))


def _alt_text(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(1))
    return alt.group(1) if alt else ""

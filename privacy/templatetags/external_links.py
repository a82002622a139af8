"""`{% load external_links %}{% external_url url %}`: a link through the leaving notice."""

import logging

from django import template

from privacy.policies.links import BadTarget, notice_url

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag
def external_url(url: str) -> str:
    """The leaving-notice path for an http(s) URL; empty for anything else.

    A template should link only web addresses; an empty href keeps a bad value (say,
    javascript:) from ever becoming a link, and the log says where it came from.
    """
    try:
        return notice_url(str(url))
    except BadTarget:
        logger.warning("external_url refused a non-web address: %.80r", url)
        return ""

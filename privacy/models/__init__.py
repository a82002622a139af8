"""Privacy's tables, one module per concept."""

from .audit import AuditEntry, AuditHead
from .consent import CookieConsent, SaleSharingOptOut
from .disclosures import Disclosure
from .email import EmailConsentEvent, EmailPreference, OutgoingEmail
from .newsletter import Newsletter, NewsletterDelivery, NewsletterSignup
from .policy import PolicyAcknowledgement, PolicyAnnouncement, PolicyDocument, PolicyNotice
from .requests import PrivacyRequest, PrivacyRequestEvent, ShineTheLightNotice
from .third_parties import ThirdParty

__all__ = [
    "AuditEntry",
    "AuditHead",
    "CookieConsent",
    "Disclosure",
    "EmailConsentEvent",
    "EmailPreference",
    "Newsletter",
    "NewsletterDelivery",
    "NewsletterSignup",
    "OutgoingEmail",
    "PolicyAcknowledgement",
    "PolicyAnnouncement",
    "PolicyDocument",
    "PolicyNotice",
    "PrivacyRequest",
    "PrivacyRequestEvent",
    "SaleSharingOptOut",
    "ShineTheLightNotice",
    "ThirdParty",
]

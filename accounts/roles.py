"""Staff roles are Django groups; their names live here and in the data migration."""

from django.db.models import Q, QuerySet

from accounts.models import User

PRIVACY_ADMIN = "privacy_admin"
FINANCE = "finance"
QUALITY_ASSURANCE = "quality_assurance"  # may open recordings whose host allowed QA use
SUPPORT = "support"  # answers the contact form's tickets
MARKETING = "marketing"  # writes and sends the newsletter
ALL_ROLES = (PRIVACY_ADMIN, FINANCE, QUALITY_ASSURANCE, SUPPORT, MARKETING)


def has_role(user: User, role: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=role).exists()


def roles_of(user: User) -> set[str]:
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return set(ALL_ROLES)
    return set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))


def holders_of(role: str) -> QuerySet[User]:
    """Active accounts that hold `role` (superusers hold every role)."""
    return User.objects.filter(
        Q(groups__name=role) | Q(is_superuser=True), is_active=True, deleted_at__isnull=True
    ).distinct()

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .timezones import validate_time_zone


class HowHeard(models.TextChoices):
    SEARCH = "search", "Search engine"
    COLLEAGUE = "colleague", "A friend or colleague"
    MEETING = "meeting", "Joined someone's meeting"
    SOCIAL = "social", "Social media"
    ARTICLE = "article", "Blog, article or podcast"
    ADVERT = "advert", "Advertisement"
    EVENT = "event", "Conference or event"
    OTHER = "other", "Other"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """An account holder. Email is the login; we keep only what the policy names."""

    email = models.EmailField("email address", max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    how_heard = models.CharField(max_length=16, choices=HowHeard.choices, blank=True)
    how_heard_other = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=150, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    # The age screen's only trace: that it was passed, and when. Never the birth date.
    age_screen_passed_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Layout(models.TextChoices):
    GALLERY = "gallery", "Gallery: everyone the same size"
    SPEAKER = "speaker", "Speaker: the active speaker large"


class UiPreferences(models.Model):
    """Saved meeting-room settings, kept server-side and read through the session."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="ui_preferences")
    join_with_camera_off = models.BooleanField("Turn my camera off when I join", default=False)
    join_with_mic_off = models.BooleanField("Mute my microphone when I join", default=False)
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.GALLERY)
    # When the room's end screen last asked "How was the call?" (answered or skipped):
    # signed-in people are asked at most once per 24 hours, remembered here, not in a cookie.
    survey_asked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "UI preferences"

    def __str__(self) -> str:
        return f"UI preferences of {self.user_id}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is kept: the key is shown once, at creation.

    The key carries 256 random bits, so a plain hash is enough (no salt or stretching:
    there is nothing to guess), and lookup by hash is one indexed query.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

"""Contests (sweepstakes) that marketing runs, and the entries people make.

An entry is personal data: it is exported and erased with the person, and every entry
of a contest is deleted once the retention its rules state has passed (tasks.py).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

# Nobody under 13 may enter anything here (COPPA), whatever a contest says.
YOUNGEST_ALLOWED = 13


class Contest(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    rules_markdown = models.TextField()
    prize = models.CharField(max_length=500)
    time_zone = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    minimum_age = models.PositiveSmallIntegerField(
        default=18, validators=[MinValueValidator(YOUNGEST_ALLOWED), MaxValueValidator(120)]
    )
    # Ask for a date of birth (checked on entry), or only for a statement of age.
    ask_birth_date = models.BooleanField(default=False)
    allowed_countries = models.JSONField(default=list)  # ISO 3166 alpha-2 codes
    allowed_us_states = models.JSONField(default=list, blank=True)  # empty: every state
    free_entry_method = models.TextField()
    winners_count = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    retention_months = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once, by the conditional UPDATE that claims the draw (services.run_draw).
    drawn_at = models.DateTimeField(null=True, blank=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    draw_audit_entry_id = models.BigIntegerField(null=True, blank=True)
    entries_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="contest_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ContestEntry(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contest_entries",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)  # kept in lower case
    birth_date = models.DateField(null=True, blank=True)
    age_confirmed = models.BooleanField(default=False)
    country = models.CharField(max_length=2)
    us_state = models.CharField(max_length=2, blank=True)
    rules_accepted = models.BooleanField(default=False)
    marketing_opt_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Account entries are verified at once; others when the emailed link is confirmed.
    verified_at = models.DateTimeField(null=True, blank=True)
    confirmations_sent = models.PositiveSmallIntegerField(default=0)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # Place in the ordered list the draw hashed, and the winner's rank (1 = first drawn).
    draw_position = models.PositiveIntegerField(null=True, blank=True)
    winner_rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "contest", Lower("email"), name="contest_entry_one_per_address"
            ),
            models.UniqueConstraint(
                fields=["contest", "user"],
                condition=models.Q(user__isnull=False),
                name="contest_entry_one_per_account",
            ),
        ]
        indexes = [models.Index(fields=["contest", "winner_rank"])]

    def __str__(self) -> str:
        return f"Entry {self.public_id}"

    @property
    def first_name(self) -> str:
        return (self.name.split() or [""])[0]

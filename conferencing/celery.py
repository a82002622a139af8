"""The Celery application: workers run `celery -A conferencing worker`, beat `... beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conferencing.settings")

app = Celery("conferencing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Privacy keeps each area's tasks in its own package.
app.autodiscover_tasks(
    ["privacy.policies", "privacy.consent", "privacy.newsletter", "privacy.requests"]
)

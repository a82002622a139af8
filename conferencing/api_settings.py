"""The REST API's settings: Django REST framework and drf-spectacular (the OpenAPI schema).

Values an operator may tune are read from the environment in settings.py and passed in.
"""

from __future__ import annotations

from typing import Any


def rest_framework(*, user_rate: str, anon_rate: str) -> dict[str, Any]:
    return {
        # Token first: its WWW-Authenticate header turns an anonymous request into a 401.
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "accounts.api_tokens.ApiTokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        # Per signed-in user and per anonymous client address; both answer 429 with Retry-After.
        "DEFAULT_THROTTLE_CLASSES": [
            "rest_framework.throttling.UserRateThrottle",
            "rest_framework.throttling.AnonRateThrottle",
        ],
        # The client's address is REMOTE_ADDR, which the server sets from trusted proxies'
        # X-Forwarded-For; DRF must not read that header itself (anyone can send one).
        "NUM_PROXIES": 0,
        "DEFAULT_THROTTLE_RATES": {
            "user": user_rate,
            "anon": anon_rate,
        },
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "DEFAULT_SCHEMA_CLASS": "conferencing.api_schema.AutoSchema",
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 50,
        # No OPTIONS metadata: it would describe objects to people who may not see them.
        "DEFAULT_METADATA_CLASS": None,
        "EXCEPTION_HANDLER": "conferencing.api_errors.exception_handler",
        "TEST_REQUEST_DEFAULT_FORMAT": "json",
    }


def spectacular(*, site_name: str) -> dict[str, Any]:
    return {
        "TITLE": f"{site_name} API",
        "DESCRIPTION": (
            "Schedule meetings, manage their occurrences and invitations, read attendance, and "
            "moderate a live sitting (admit, deny, remove, mute, lock, end). "
            "Authenticate with `Authorization: Token <key>` or a signed-in session."
        ),
        "VERSION": "1.0.0",
        "SCHEMA_PATH_PREFIX": "/api/",
        "SERVE_INCLUDE_SCHEMA": False,
        "COMPONENT_SPLIT_REQUEST": True,
        # Swagger UI's files come from our own /static/ (drf-spectacular-sidecar): no CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "conferencing.api_schema.document_errors",
            "meetings.serializers.state_start_rules",
        ],
        # Two models call their stages "status": each enum keeps its model's name.
        "ENUM_NAME_OVERRIDES": {
            "MeetingStatusEnum": "meetings.models.Meeting.Status",
            "OccurrenceStatusEnum": "meetings.models.Occurrence.Status",
        },
    }

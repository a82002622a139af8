"""The API's exception handler: every error leaves as JSON with a message a person can read.

A body or query that is not as the schema describes is a 400. Services raise Django's
ValidationError keyed by field when a well-formed request breaks a rule about meetings (a
start in the past, a plan's limits, a cancelled meeting): that is a 422 with the same
shape. Meetings' domain errors become 409, 429 or their own status.

Anything else is a bug: it is logged and answered with a JSON 500, and Django's
`got_request_exception` signal is sent as Django itself would, so error reporters see it
and the test client re-raises it instead of letting a test pass on a 500.
"""

import logging
from typing import Any

from django.core import signals
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from meetings.errors import (
    ActionRefused,
    InvalidTransition,
    MeetingError,
    MeetingFull,
    NotJoinable,
    RateLimited,
)

logger = logging.getLogger("conferencing.api")

UNEXPECTED_ERROR = "Something went wrong on our side. It has been logged; please try again later."

# The state of the meeting, not the request, is what stands in the way: a conflict.
_CONFLICTS = (InvalidTransition, MeetingFull, NotJoinable)


class RuleRefused(ValidationError):
    """A well-formed request that a rule about meetings refuses, keyed by field."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "refused"


def _meeting_error_response(exc: MeetingError) -> Response:
    if isinstance(exc, RateLimited):
        return Response(
            {"detail": exc.message},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, ActionRefused):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    code = status.HTTP_409_CONFLICT if isinstance(exc, _CONFLICTS) else status.HTTP_400_BAD_REQUEST
    return Response({"detail": exc.message}, status=code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, DjangoValidationError):
        exc = RuleRefused(detail=as_serializer_error(exc))
    if isinstance(exc, MeetingError):
        set_rollback()
        return _meeting_error_response(exc)
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    request = context.get("request")
    logger.error("Unhandled error in %s", type(context.get("view")).__name__, exc_info=exc)
    signals.got_request_exception.send(sender=None, request=getattr(request, "_request", request))
    set_rollback()
    return Response({"detail": UNEXPECTED_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)

"""The survey endpoint the room's end screen posts to.

Authorised by the signed token the room page gave the client (a guest has no account),
never by an id. Answers JSON: 201 stored, 200 skipped, 400 bad input, 409 already
answered (or, for an account, answered within the last 24 hours).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from . import services
from .media_context import media_worker_of

MAX_BODY_BYTES = 8 * 1024


def _refused(exc: services.Refused) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status)


@require_POST
def answer(request: HttpRequest) -> JsonResponse:
    if len(request.body) > MAX_BODY_BYTES:
        return JsonResponse(
            {"error": "too_large", "message": "The answer is too long."}, status=400
        )
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "bad_json", "message": "Send JSON."}, status=400)
    try:
        participant = services.participant_for(
            data.get("token") if isinstance(data, dict) else None
        )
        if data.get("skip") is True:
            services.record_skip(participant=participant)
            return JsonResponse({"skipped": True})
        parsed = services.parse_answer(data)
        services.record_answer(
            participant=participant,
            answer=parsed,
            user_agent=request.headers.get("User-Agent", ""),
            media_worker=media_worker_of(str(participant.occurrence.public_id)),
        )
    except services.Refused as exc:
        return _refused(exc)
    return JsonResponse({"stored": True}, status=201)

"""What the OpenAPI schema says beyond what drf-spectacular infers from the views.

Every operation documents the errors it can answer, each with its JSON body: 400 (a bad
body or query parameter), 401 (no or a bad token), 403 (CSRF with a session), 404
(nothing of yours there), 405, 415 (a body that is not JSON), 409 (the meeting's state
stands in the way), 422 (a rule about meetings refuses it) and 429 (throttled, with
Retry-After). A list that a write returns is a plain array, never a page.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    def _get_paginator(self) -> Any:
        # A list a write returns (the invitations it made) is the whole list, not a page.
        if self.method != "GET":
            return None
        return super()._get_paginator()


ERROR = "#/components/schemas/Error"
VALIDATION_ERROR = "#/components/schemas/ValidationError"

COMPONENTS = {
    "Error": {
        "type": "object",
        "properties": {
            "detail": {"type": "string", "description": "What went wrong, for a person."},
            "code": {"type": "string", "description": "A machine-readable reason, if any."},
        },
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            "Each refused field's name with its messages; `non_field_errors` for the body as "
            "a whole, or `detail` when the body could not be read at all."
        ),
        "properties": {
            "detail": {"type": "string"},
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "How to authenticate: `Token`.",
        "schema": {"type": "string"},
    }
}


def _response(description: str, ref: str, headers: dict[str, Any] | None = None) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }
    if headers:
        response["headers"] = headers
    return response


WRITES = {"post", "put", "patch", "delete"}


def _errors_for(method: str, path: str, operation: dict[str, Any]) -> dict[str, dict]:
    errors = {
        "401": _response(
            "No credentials, or a token that is unknown, expired or revoked.",
            ERROR,
            WWW_AUTHENTICATE,
        ),
        "404": _response(
            "No such address, or nothing of yours there (another host's looks the same).",
            ERROR,
        ),
        "405": _response("This address does not take this method.", ERROR),
        "429": _response("Too many requests from you: throttled.", ERROR, RETRY_AFTER),
    }
    parameters = operation.get("parameters", [])
    if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
        errors["400"] = _response(
            "The body or a query parameter is not as documented.", VALIDATION_ERROR
        )
    if "requestBody" in operation:
        errors["415"] = _response("The body is not JSON (`Content-Type: application/json`).", ERROR)
    if method in WRITES:
        errors["403"] = _response(
            "Refused: with a session, the CSRF token is missing or wrong.", ERROR
        )
        errors["409"] = _response("The meeting's state stands in the way.", ERROR)
        errors["422"] = _response(
            "Well-formed, but a rule about meetings refuses it: a start in the past, a "
            "plan's limits (length, invitees, series), a series without sittings, or a "
            "meeting that is cancelled or over. Keyed by field like a 400.",
            VALIDATION_ERROR,
        )
    return errors


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error responses and their bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(COMPONENTS)
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if method not in WRITES | {"get", "head"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in _errors_for(method, path, operation).items():
                responses.setdefault(code, response)
    return result

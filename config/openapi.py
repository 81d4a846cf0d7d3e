"""OpenAPI post-processing: the error answers every API operation can give, documented once.

Each view documents its own success and business errors (409 conflict, 429 rate limit...). What any
operation may answer regardless of the view is added here when the view did not say it already:
400 (invalid body or query), 403 (not signed in / not allowed, CSRF), 404 (no such object, or
another town's), 405, 413 (body over CARTOPARTY_MAX_BODY_BYTES), 415, and 503 (database restarting,
with Retry-After). Their bodies are JSON objects, mostly {"detail": "..."}; 400 may be
{field: [messages]}.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Usually {"detail": "..."}; a 400 may list messages per field.',
    "additionalProperties": True,
}
COMMON = {
    "400": "Invalid request: the body or the query says what is wrong.",
    "403": "Not signed in, not allowed, or the CSRF token is missing.",
    "404": "No such object (or it belongs to another town or party).",
    "405": "Method not allowed.",
    "413": "Body too large (CARTOPARTY_MAX_BODY_BYTES).",
    "415": "Unsupported media type.",
    "503": "The database is restarting or busy: retry after Retry-After seconds.",
}
WRITE_ONLY = {"413", "415"}


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: add COMMON errors not already documented."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in COMMON.items():
                if code in WRITE_ONLY and method in ("get", "head", "options"):
                    continue
                if code not in responses:
                    responses[code] = {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    }
    return result

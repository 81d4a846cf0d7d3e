"""Service errors: what a service refuses, with the HTTP status and the message the reader gets.

Services raise these; views never map them to statuses themselves: one DRF exception handler and
one decorator for Django views do it (:mod:`core.http`). The message is translated: raise sites
pass a message built with ``gettext`` while the request's language is active, or the class's lazy
``default_message`` is rendered when the answer is written, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """Base of every error a service raises for the user to read (HTTP ``status``)."""

    status = 400
    default_message: Any = _("This request cannot be carried out.")

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else str(self.default_message)

    def __str__(self) -> str:
        return self.message

    def payload(self) -> dict[str, Any]:
        """The JSON body of the API's answer (``{"detail": message}`` unless a subclass adds to it)."""
        return {"detail": self.message}

    def headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After for a 429)."""
        return {}


class Invalid(ServiceError, ValueError):
    """The request cannot be carried out as asked (400). Also a ValueError: the input is wrong."""

    status = 400


class NotAllowed(ServiceError):
    """The requester may not do this (403)."""

    status = 403
    default_message = _("You may not do this.")


class NotFound(ServiceError):
    """Nothing to act on (404)."""

    status = 404
    default_message = _("Not found.")


class Conflict(ServiceError):
    """The data changed since the requester read it (409)."""

    status = 409


class TooMany(ServiceError):
    """Too many requests for now (429); ``retry_after`` seconds to wait, sent as Retry-After too."""

    status = 429
    default_message = _("Too many requests for now.")

    def __init__(self, message: Any = None, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(*([message] if message is not None else []))

    def payload(self) -> dict[str, Any]:
        return {"detail": self.message, "retry_after": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(TooMany):
    """The service cannot answer for now (503), e.g. its database connection was just lost; the
    client may try again after ``retry_after`` seconds (Retry-After)."""

    status = 503
    default_message = _("This is unavailable for a moment. Try again shortly.")

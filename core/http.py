"""Service errors into HTTP answers, in one place for the API and one for Django views.

``api_exception_handler`` is DRF's ``EXCEPTION_HANDLER``: a :class:`~core.errors.ServiceError`
becomes its status, its headers and its ``payload()`` (``{"detail": message}`` and whatever the
error adds: conflict details, ``retry_after``); anything else goes to DRF's own handler.
``service_errors`` does the same for Django views: by default a JSON ``{"error": message}`` with
the status (the shape the pages' scripts read from the map-data endpoints), or the page's own
presentation (a message and a redirect, the form again, plain text) through ``present``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.errors import ServiceError

Presenter = Callable[..., HttpResponse]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: service errors answer with their status and payload."""
    if isinstance(exc, ServiceError):
        set_rollback()  # as DRF does for its own errors (under ATOMIC_REQUESTS nothing half-done stays)
        return Response(exc.payload(), status=exc.status, headers=exc.headers())
    return exception_handler(exc, context)


def service_errors(present: Presenter | None = None) -> Callable[[Presenter], Presenter]:
    """Decorate a Django view so that a ServiceError it lets through becomes its HTTP answer.

    ``present(request, exc, *args, **kwargs)`` (the view's own arguments) renders the page's
    presentation of the error; without it the answer is ``{"error": message}`` with the error's status.
    """

    def decorator(view: Presenter) -> Presenter:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except ServiceError as exc:
                if present is not None:
                    response = present(request, exc, *args, **kwargs)
                else:
                    response = JsonResponse({"error": exc.message}, status=exc.status)
                for name, value in exc.headers().items():  # Retry-After, whoever presents it
                    response[name] = value
                return response

        return wrapper

    return decorator


def plain_text(request: HttpRequest, exc: ServiceError, *args: Any, **kwargs: Any) -> HttpResponse:
    """A ``present`` for endpoints that are not pages (map tiles): the message as text, its status."""
    return HttpResponse(exc.message, status=exc.status, content_type="text/plain")

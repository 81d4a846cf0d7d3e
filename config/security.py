"""Cross-cutting protections: security headers with a strict CSP, 413 for oversized bodies, 400 for
requests carrying characters nothing can mean (NUL, control characters), and 503 instead of 500 when
the database is unreachable.

Django's SecurityMiddleware already sets HSTS, nosniff and the Referrer-Policy from settings; this
module adds what it does not: Content-Security-Policy, Permissions-Policy and
Cross-Origin-Opener-Policy (Django sets COOP too, from SECURE_CROSS_ORIGIN_OPENER_POLICY).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

log = logging.getLogger(__name__)

# No inline script and no external origin. Leaflet positions map panes and markers with inline
# style *attributes* (element.style), which CSP treats under style-src-attr; <style> elements and
# stylesheets stay 'self' only (style-src-elem). data:/blob: images: Leaflet's icons and canvas exports.
DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
    ]
)
# Swagger UI (the API docs page only) inserts <style> elements at run time; scripts stay 'self'.
DOCS_CSP = DEFAULT_CSP.replace("style-src-elem 'self'", "style-src-elem 'self' 'unsafe-inline'")
DOCS_PATH = "/api/docs/"
DEFAULT_PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds CSP, Permissions-Policy and COOP to every response (unless a view set its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        csp = DOCS_CSP if request.path == DOCS_PATH else DEFAULT_CSP
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("Permissions-Policy", DEFAULT_PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


PHOTO_UPLOAD = re.compile(r"^/api/parties/[0-9]+/edits/[^/]+/photos/$")
PHOTO_FORM_OVERHEAD = 64 * 1024


class BodySizeLimitMiddleware:
    """Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (CARTOPARTY_MAX_BODY_BYTES) answer 413 before anything
    reads them. Django alone would answer 400 (RequestDataTooBig) and only where a view reads
    request.body; DRF's JSON parser reads the stream and would not check the limit at all."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.method == "POST" and PHOTO_UPLOAD.match(request.path_info):
            # A photo's route alone carries the photo: its limit, plus the multipart form's few fields.
            limit = max(limit, settings.CARTOPARTY_PHOTO_MAX_BYTES + PHOTO_FORM_OVERHEAD)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": _("Invalid Content-Length header.")}, status=400)
        if limit is not None and length > limit:
            return too_large(limit)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if isinstance(exception, SuspiciousOperation) and request.path.startswith("/api/"):
            # e.g. TooManyFieldsSent: Django would answer an HTML 400; the API answers JSON.
            return JsonResponse({"detail": _("Malformed request.")}, status=400)
        return None


def too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "detail": _("The request is too large (at most %(size)s bytes).") % {"size": limit},
            "max_bytes": limit,
        },
        status=413,
    )


# C0 control characters and DEL. A tab is allowed in header values (HTTP allows it), nowhere else.
CONTROL = re.compile("[\x00-\x1f\x7f]")
HEADER_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# The same in a query string, raw or percent-encoded (%00-%1F, %7F): no parameter means one, and a
# newline there reaches headers (drf-spectacular puts ?version= in Content-Disposition).
ENCODED_CONTROL = re.compile("[\x00-\x1f\x7f]|%[01][0-9a-fA-F]|%7[fF]")
HEADER_KEYS = ("CONTENT_TYPE", "CONTENT_LENGTH")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MalformedRequestMiddleware:
    """400 with a reason, in the reader's language, for input no page or API call can mean and that
    would otherwise fail deep inside a view as a 500: PostgreSQL refuses a NUL in any text, and a
    newline in a path or header ends up in a redirect's Location, which Django refuses to send.

    Refused: control characters in the path (after percent-decoding: ``%00``, ``%0A``) or the query
    string, a control character in a header or cookie, a NUL in a form field's name or value,
    and form bodies Django cannot parse (a multipart body without its boundary, too many fields).
    Lone surrogates cannot reach here (Django decodes paths, query strings and form bodies leniently);
    in JSON bodies they are the API parser's business (core.parsers).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self.problem(request)
        if problem:
            return bad_request(request, problem)
        return self.get_response(request)

    def problem(self, request: HttpRequest) -> str:
        if CONTROL.search(request.path):
            return _("The address contains a control character.")
        if ENCODED_CONTROL.search(request.META.get("QUERY_STRING", "")):
            return _("The query string contains a control character.")
        headers = (v for k, v in request.META.items() if k.startswith("HTTP_") or k in HEADER_KEYS)
        if any(isinstance(value, str) and HEADER_CONTROL.search(value) for value in headers):
            return _("A header of the request contains a control character.")
        if request.method in ("POST", "PUT", "PATCH") and request.content_type in FORM_TYPES:
            try:
                fields = request.POST
            except (MultiPartParserError, SuspiciousOperation):
                return _("The form data could not be read.")
            if any("\x00" in key or any("\x00" in v for v in fields.getlist(key)) for key in fields):
                return _("The request contains a NUL character.")
        return ""


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 with ``message``: JSON under /api/, plain text for pages."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class LoadSheddingMiddleware:
    """Overload: a request that waited too long in the queue before a worker thread took it answers
    503 + Retry-After at once, instead of doing work its client has probably given up on.

    The wait is measured from ``X-Request-Start: t=<epoch seconds or ms>`` which the reverse proxy
    sets (the Caddyfile: ``header_up X-Request-Start "t={time.now.unix_ms}"``; nginx:
    ``proxy_set_header X-Request-Start "t=${msec}";``). Without the header nothing is
    shed. A client forging the header can only get its own request refused. /healthz is never shed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.CARTOPARTY_MAX_QUEUE_MS
        start = request.headers.get("X-Request-Start", "")
        if limit and start and request.path != "/healthz":
            waited = queue_ms(start)
            if waited is not None and waited > limit:
                response = JsonResponse(
                    {"detail": _("The service is very busy; please try again in a few seconds.")}, status=503
                )
                response["Retry-After"] = "2"
                response["Cache-Control"] = "no-store"
                return response
        return self.get_response(request)


def queue_ms(header: str) -> float | None:
    """Milliseconds since ``t=<epoch>`` (seconds with a fraction, or milliseconds)."""
    try:
        value = float(header.removeprefix("t="))
    except ValueError:
        return None
    start = value / 1000 if value > 1e11 else value
    return (time.time() - start) * 1000


class DatabaseUnavailableMiddleware:
    """The database went away (restart, failover, too many connections): 503 + Retry-After, not 500.

    The pages and the API client retry on 503 with the same idempotency key, so a resident's save
    survives a PostgreSQL restart. Only connection-level errors are mapped; a programming error
    (ProgrammingError, IntegrityError) is still a bug and still a 500.
    """

    retry_after = 5

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        response = JsonResponse(
            {"detail": _("The service is busy or restarting; please try again in a few seconds.")},
            status=503,
        )
        response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the API answers JSON (a URL that matches no route, e.g. a negative id, is still
    under /api/); pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)

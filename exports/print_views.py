"""Thin views for base tiles and printed maps (the agent's print pages)."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ServiceError
from core.http import plain_text, service_errors
from exports import tiles
from exports.jobs import fail_if_lost
from exports.models import Edition, Job
from exports.printing import index
from exports.printing.forms import PrintOrderForm
from exports.printing.services import PrintRefused, request_print, retry_print
from parties.access import agent_town
from parties.poster import loopback_public_url

TILE_CACHE_CONTROL = "public, max-age=60"  # short: an accepted edit redraws tiles within a minute


@require_GET
@service_errors(plain_text)
def tile(request: HttpRequest, z: str, x: str, y: str, retina: str | None = None) -> HttpResponse:
    """One base tile (PNG); 400 for coordinates that are not numbers, 404 outside the pyramid.

    A cached tile costs one file read: no database query, no session or user lookup (nothing
    here touches ``request.session`` or ``request.user``), no Mapnik. A browser revalidating with
    the tile's ETag gets a 304 from a stat alone. ``Server-Timing`` says how long the view took.
    """
    started = time.perf_counter()
    zi, xi, yi = tiles.parse_tile(z, x, y)  # BadTile 400, NoSuchTile 404 (as text)
    is_retina = bool(retina)
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    etag = tiles.tile_etag(zi, xi, yi, is_retina) if if_none_match else None
    if etag and if_none_match and etag in if_none_match:  # etag is computed only with the header
        response: HttpResponse = HttpResponseNotModified()
    else:
        body, etag = tiles.get_tile(zi, xi, yi, is_retina)  # the cached file first
        response = HttpResponse(body, content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = TILE_CACHE_CONTROL
    response["Server-Timing"] = f"tile;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


# --- The agent's print pages -------------------------------------------------------------------


def _with_change_labels(editions) -> list[Edition]:
    """Each listed change with its wording in the reader's language, as on the print's insert."""
    editions = list(editions)
    for edition in editions:
        for item in (edition.changes or {}).get("items", []):
            item["change_label"], item["feature_label"] = index.change_label(item), index.feature_label(item)
    return editions


@login_required
@require_http_methods(["GET", "POST"])
def print_orders(request: HttpRequest) -> HttpResponse:
    """Order a print; follow the town's print jobs and editions."""
    town = agent_town(request)
    form = PrintOrderForm(request.POST or None, town=town)
    refused = ""
    if request.method == "POST" and form.is_valid():
        try:
            request_print(town, form.params(), request.user)
        except PrintRefused as exc:
            refused = str(exc)
        else:
            messages.success(request, _("Your print is queued; this page follows its progress."))
            return redirect("printing:orders")
    context = {
        "town": town,
        "form": form,
        "refused": refused,
        "loopback_public_url": loopback_public_url(),
        "jobs": Job.objects.filter(town=town, kind=Job.Kind.PRINT).prefetch_related("editions")[:10],
        "editions": _with_change_labels(Edition.objects.filter(town=town).select_related("previous")[:30]),
    }
    return render(request, "exports/print_orders.html", context, status=400 if refused else 200)


def _retry_refused(request: HttpRequest, exc: ServiceError, pk: int) -> HttpResponse:
    """A retry over a limit is a message on the print page."""
    messages.error(request, str(exc))
    return redirect("printing:orders")


@login_required
@require_GET
def print_job_status(request: HttpRequest, pk: int) -> JsonResponse:
    town = agent_town(request)
    job = fail_if_lost(get_object_or_404(Job, town=town, kind=Job.Kind.PRINT, pk=pk))
    edition = job.editions.first()
    return JsonResponse(
        {
            "status": job.status,
            "progress": job.progress,
            "message": job.message,
            "error": job.error,
            "download": reverse("printing:edition-download", args=[edition.pk]) if edition else None,
        }
    )


@login_required
@require_POST
@service_errors(_retry_refused)
def print_job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    town = agent_town(request)
    job = get_object_or_404(Job, town=town, kind=Job.Kind.PRINT, pk=pk)
    retry_print(job)
    return redirect("printing:orders")


@login_required
@require_GET
def edition_download(request: HttpRequest, pk: int) -> FileResponse:
    town = agent_town(request)
    edition = get_object_or_404(Edition, town=town, pk=pk)
    name = f"{town.slug}-edition-{edition.number}.pdf"
    return FileResponse(open(edition.file_path, "rb"), as_attachment=True, filename=name)


@login_required
@require_GET
def edition_preview(request: HttpRequest, pk: int) -> FileResponse:
    town = agent_town(request)
    edition = get_object_or_404(Edition, town=town, pk=pk)
    if not edition.preview_path:
        raise Http404
    return FileResponse(open(edition.preview_path, "rb"), content_type="image/png")

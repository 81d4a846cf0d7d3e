"""The open-data page, stable download URLs (ETag, Last-Modified, 304) and job progress polling."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import http_date, parse_http_date_safe, quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_safe

from core.errors import ServiceError
from core.http import service_errors
from exports.formats import FORMATS
from exports.jobs import fail_if_lost
from exports.models import Job
from exports.selectors import Scope, changelog_for_town, contributors_for_town, parties_with_changes_for_town
from exports.services import download_url, downloads_for_town, request_export, scope_from_params
from mapping.history import describe
from mapping.models import UpstreamConflict
from mapping.photos import licensed
from mapping.upstream import open_conflicts_for_town, resolve_conflict
from parties.access import AuthenticatedHttpRequest, agent_required, agent_town
from parties.models import Party, Town
from parties.permissions import is_agent_of

EXT_TO_FORMAT = {f".{f.extension}": name for name, f in FORMATS.items()}


def _format_of(filename: str, stem: str) -> str | None:
    for ext, fmt in EXT_TO_FORMAT.items():
        if filename == stem + ext:
            return fmt
    return None


@require_GET
def open_data(request: HttpRequest, slug: str) -> HttpResponse:
    """Public page: what the data is, licence, downloads (size, date), parties, changelog."""
    town = get_object_or_404(Town, slug=slug)
    downloads = downloads_for_town(town)
    parties = parties_with_changes_for_town(town)
    for party in parties:
        party["downloads"] = downloads_for_town(town, Scope(party_id=party["id"]))
    page = Paginator(changelog_for_town(town), 50).get_page(request.GET.get("page"))
    for rev in page.object_list:
        describe(rev)  # "Café Amann", "Banc": what the reader knows the feature by, not "node 5258"
    return render(
        request,
        "exports/town_data.html",
        {
            "town": town,
            "downloads": downloads,
            "parties": parties,
            "changes": page,
            "contributors": contributors_for_town(town),
            "to_merge": open_conflicts_for_town(town).count() if is_agent_of(request.user, town) else None,
            # Only photos of accepted edits whose author chose an open licence; never in OSM files.
            "photos": list(licensed(town.pk).order_by("-created_at")[:60]),
        },
    )


def _serve(request: HttpRequest, town: Town, fmt: str, scope: Scope, filename: str) -> HttpResponseBase:
    path, job = request_export(town, fmt, scope, request.user)
    if job is not None:
        status_url = reverse("exports:job", kwargs={"slug": town.slug, "job_id": job.pk})
        response = JsonResponse(
            {
                "status": job.status,
                "progress": job.progress,
                "status_url": status_url,
                "message": _("The file is being built; it will be ready here when the job is done."),
            },
            status=202,
        )
        response["Retry-After"] = "5"
        response["Location"] = status_url
        return response
    assert path is not None  # request_export answers (path, None) or (None, job)
    return file_response(request, path, fmt, filename)


def file_response(request: HttpRequest, path: Path, fmt: str, filename: str) -> HttpResponseBase:
    """A cached export with validators; answers 304 when the client's copy is current."""
    stat = path.stat()
    etag = quote_etag(
        hashlib.sha256(f"{path.parent.name}/{path.name}/{stat.st_size}".encode()).hexdigest()[:24]
    )
    last_modified = int(stat.st_mtime)
    if_none_match = request.headers.get("If-None-Match")
    if_modified_since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        not_modified = if_none_match.strip() == "*" or etag in [t.strip() for t in if_none_match.split(",")]
    else:
        not_modified = if_modified_since is not None and last_modified <= if_modified_since
    if not_modified:
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        response = FileResponse(
            path.open("rb"), as_attachment=True, filename=filename, content_type=FORMATS[fmt].media_type
        )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


@require_safe
def download(request: HttpRequest, slug: str, filename: str) -> HttpResponseBase:
    town = get_object_or_404(Town, slug=slug)
    fmt = _format_of(filename, town.slug)
    if fmt is None:
        raise Http404(_("No such file."))
    return _serve(request, town, fmt, Scope(), filename)


@require_safe
def party_download(request: HttpRequest, slug: str, party_id: int, filename: str) -> HttpResponseBase:
    town = get_object_or_404(Town, slug=slug)
    party = get_object_or_404(Party, town=town, pk=party_id)  # tenant: the party must be this town's
    scope = Scope(party_id=party.pk)
    fmt = _format_of(filename, f"{town.slug}-{scope.slug()}")
    if fmt is None:
        raise Http404(_("No such file."))
    return _serve(request, town, fmt, scope, filename)


@require_GET
def job_status(request: HttpRequest, slug: str, job_id: int) -> JsonResponse:
    """Progress of a background export, polled by the page."""
    town = get_object_or_404(Town, slug=slug)
    job = fail_if_lost(get_object_or_404(Job, town=town, pk=job_id, kind=Job.Kind.EXPORT))
    data = {"id": job.pk, "status": job.status, "progress": job.progress, "message": job.message}
    if job.status == Job.Status.DONE:
        params = job.params
        data["download_url"] = download_url(town, params["format"], scope_from_params(params))
    if job.status == Job.Status.FAILED:
        data["error"] = _("The export failed; try again in a moment.")
    return JsonResponse(data)


@require_GET
@agent_required
def merge_list(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Agents: elements changed here and in OpenStreetMap that need a choice."""
    town = agent_town(request, slug)
    conflicts = list(open_conflicts_for_town(town))
    for conflict in conflicts:
        conflict.rows = _tag_rows(conflict)
    return render(request, "exports/upstream_merge.html", {"town": town, "conflicts": conflicts})


def _tag_rows(conflict: UpstreamConflict) -> list[dict]:
    sides = {name: (getattr(conflict, name) or {}).get("tags", {}) for name in ("base", "local", "upstream")}
    keys = sorted(set().union(*sides.values()))
    return [
        {"key": k, **{name: sides[name].get(k, "") for name in sides}, "clash": k in conflict.keys}
        for k in keys
    ]


def _choice_refused(request: HttpRequest, exc: ServiceError, slug: str, conflict_id: int) -> HttpResponse:
    """A choice that cannot be applied is a message on the merge page."""
    messages.error(request, str(exc))
    return redirect("exports:merge", slug=slug)


@require_POST
@agent_required
@service_errors(_choice_refused)
def merge_choose(request: AuthenticatedHttpRequest, slug: str, conflict_id: int) -> HttpResponse:
    town = agent_town(request, slug)
    conflict = get_object_or_404(UpstreamConflict, town=town, pk=conflict_id)
    resolve_conflict(conflict, request.POST.get("choice", ""), request.user)
    messages.success(
        request,
        _("Saved: %(element)s %(id)s.") % {"element": conflict.element_type, "id": conflict.element_id},
    )
    return redirect("exports:merge", slug=town.slug)

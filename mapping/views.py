"""Thin HTML and JSON views for the public town map, element history and the map as of a date."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.http import plain_text, service_errors
from mapping import feature_tiles, photos
from mapping.history import element_history, features_as_of, parse_as_of
from mapping.models import Revision
from mapping.selectors import (
    BadRequest,
    BBox,
    features_geojson_for_town,
    home_extent_for_town,
    parse_zoom,
    too_many_message,
)
from mapping.store import get_element
from parties import presets
from parties.models import Town
from parties.permissions import is_agent_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "mapping/home.html", {"towns": Town.objects.all()})


@require_GET
def town_map(request: HttpRequest, slug: str) -> HttpResponse:
    town = get_object_or_404(Town, slug=slug)
    extent = home_extent_for_town(town)
    return render(request, "mapping/town_map.html", {"town": town, "extent": extent})


@require_GET
@service_errors()
def town_features(request: HttpRequest, slug: str) -> HttpResponse:
    """GeoJSON of the town's published features in ?bbox=w,s,e,n[&zoom=z]; 400 with a reason otherwise."""
    town = get_object_or_404(Town, slug=slug)
    bbox = BBox.parse(request.GET.get("bbox"))
    zoom = parse_zoom(request.GET.get("zoom"))
    body = features_geojson_for_town(town, bbox, zoom)
    return HttpResponse(body, content_type="application/geo+json")


@require_GET
@service_errors()
def town_feature_tile(request: HttpRequest, slug: str, z: str, x: str, y: str) -> HttpResponse:
    """GeoJSON of the town's published features in one map-data tile, shared from the cache.

    Browsers keep it and revalidate (Cache-Control: no-cache + ETag): an unchanged tile is a 304.
    Bad coordinates and crowded tiles are 400 with a reason; an unknown town 404.
    """
    try:
        answer = feature_tiles.feature_tile(slug, feature_tiles.Tile.parse(z, x, y))
    except feature_tiles.NoSuchTown:  # the site's 404 (JSON under /api/), as for any unknown URL
        raise Http404 from None
    if answer.too_many:
        return JsonResponse({"error": too_many_message(settings.CARTOPARTY_MAX_FEATURES)}, status=400)
    etags = parse_etags(request.headers.get("If-None-Match", ""))
    if answer.etag in etags or "*" in etags:
        response: HttpResponse = HttpResponseNotModified()
    elif accepts_gzip(request):
        response = HttpResponse(answer.gzipped, content_type="application/geo+json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(answer.body(), content_type="application/geo+json")
    response["ETag"] = answer.etag
    response["Cache-Control"] = "public, no-cache"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


@require_GET
@service_errors()
def describe_feature(request: HttpRequest) -> HttpResponse:
    """What a mapped feature is, for a map popup: its preset's name and fields in the reader's language.

    ``?tags={json object}&geometry=point|line|area``: the tags the page already has, so the one
    matching rule (``parties.presets.describe``) names features on every map, the map as of a date
    included. ``{"preset": null}`` when no preset fits. Cacheable: the answer depends on the query
    and the language only.
    """
    geometry = request.GET.get("geometry") or None
    if geometry is not None and geometry not in presets.GEOMETRIES:
        return JsonResponse({"error": _("geometry must be point, line or area.")}, status=400)
    tags = presets.parse_tags(request.GET.get("tags"))
    response = JsonResponse({"preset": presets.describe(tags, geometry, get_language())})
    response["Cache-Control"] = "public, max-age=3600"
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


def _feature_label(element, element_type: str, revisions: list[Revision]) -> str:
    """What the history is of, as a reader knows it: the name, else the preset's name, else "Point"."""
    tags = getattr(element, "tags", None) or next(
        ((r.after or r.before or {}).get("tags") or {} for r in reversed(revisions)), {}
    )
    tags = tags if isinstance(tags, dict) else {}
    return (
        tags.get("name")
        or presets.preset_name(presets.match_preset(tags))
        or presets.element_kind_name(element_type)
    )


@require_GET
def history(request: HttpRequest, slug: str, element_type: str, element_id: str) -> HttpResponse:
    """An element's timeline: every published version (agents of the town: every proposal too)."""
    town = get_object_or_404(Town, slug=slug)
    osm_id = int(element_id)  # the URL's digits (a negative id is a local element)
    agent = is_agent_of(request.user, town)
    revisions = element_history(town, element_type, osm_id, include_unpublished=agent)
    element = get_element(town, element_type, osm_id)
    if element is None and not revisions:
        return render(
            request,
            "mapping/element_history.html",
            {"town": town, "missing": True, "element_type": element_type},
            status=404,
        )
    return render(
        request,
        "mapping/element_history.html",
        {
            "town": town,
            "element": element,
            "element_type": element_type,
            "element_id": osm_id,
            "feature_label": _feature_label(element, element_type, revisions),
            "revisions": revisions,
            "agent": agent,
            "base_version": element.base_version if element else None,
        },
    )


@require_GET
def town_as_of(request: HttpRequest, slug: str) -> HttpResponse:
    """The town's map as it was on a date (?date=YYYY-MM-DD, or ?as_of=)."""
    town = get_object_or_404(Town, slug=slug)
    raw = request.GET.get("date") or request.GET.get("as_of") or ""
    error = ""
    if raw:
        try:
            parse_as_of(raw)
        except BadRequest as exc:
            error, raw = str(exc), ""
    extent = town.boundary.extent if town.boundary else None
    return render(
        request,
        "mapping/town_as_of.html",
        {"town": town, "date": raw, "extent": extent, "error": error},
        status=400 if error else 200,
    )


@require_GET
@service_errors()
def as_of_features(request: HttpRequest, slug: str, date: str) -> HttpResponse:
    """GeoJSON of the town as published at ``date`` in ?bbox=w,s,e,n; 400 with a reason otherwise."""
    town = get_object_or_404(Town, slug=slug)
    at = parse_as_of(date)
    bbox = BBox.parse(request.GET.get("bbox"))
    body = features_as_of(town, at, bbox)
    return HttpResponse(body, content_type="application/geo+json")


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding takes gzip (and does not refuse it with q=0)."""
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database check for load balancers and docker-compose."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@service_errors(plain_text)
def photo_file(request: HttpRequest, photo_id: int, size: str) -> HttpResponse:
    """One size of a resident's photo, to those who may see it (mapping.photos.can_see); 404 otherwise."""
    with photos.open_file(request.user, photo_id, size) as stored:  # a few hundred kB at most
        response = HttpResponse(stored.read(), content_type="image/jpeg")
    # Private unless licensed, and not guessable; a browser may keep it, no shared cache may.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response

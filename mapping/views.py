"""Thin HTML and JSON views for the public town map."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mapping import feature_tiles, presets
from mapping.selectors import (
    BadRequest,
    BBox,
    features_geojson_for_town,
    home_extent_for_town,
    parse_zoom,
    too_many_message,
)
from parties.models import Town


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "mapping/home.html", {"towns": Town.objects.all()})


@require_GET
def town_map(request: HttpRequest, slug: str) -> HttpResponse:
    town = get_object_or_404(Town, slug=slug)
    extent = home_extent_for_town(town)
    return render(request, "mapping/town_map.html", {"town": town, "extent": extent})


@require_GET
def town_features(request: HttpRequest, slug: str) -> HttpResponse:
    """GeoJSON of the town's published features in ?bbox=w,s,e,n[&zoom=z]; 400 with a reason otherwise."""
    town = get_object_or_404(Town, slug=slug)
    try:
        bbox = BBox.parse(request.GET.get("bbox"))
        zoom = parse_zoom(request.GET.get("zoom"))
        body = features_geojson_for_town(town, bbox, zoom)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return HttpResponse(body, content_type="application/geo+json")


@require_GET
def town_feature_tile(request: HttpRequest, slug: str, z: str, x: str, y: str) -> HttpResponse:
    """GeoJSON of the town's published features in one map-data tile, shared from the cache.

    Browsers keep it and revalidate (Cache-Control: no-cache + ETag): an unchanged tile is a 304.
    Bad coordinates and crowded tiles are 400 with a reason; an unknown town 404.
    """
    try:
        answer = feature_tiles.feature_tile(slug, feature_tiles.Tile.parse(z, x, y))
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except feature_tiles.NoSuchTown:
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
def describe_feature(request: HttpRequest) -> HttpResponse:
    """What a mapped feature is, for a map popup: its preset's name and fields in the reader's language.

    ``?tags={json object}&geometry=point|line|area``: the tags the page already has, so the one
    matching rule (``mapping.presets.describe``) names features on every map, the map as of a date
    included. ``{"preset": null}`` when no preset fits. Cacheable: the answer depends on the query
    and the language only.
    """
    geometry = request.GET.get("geometry") or None
    if geometry is not None and geometry not in presets.GEOMETRIES:
        return JsonResponse({"error": _("geometry must be point, line or area.")}, status=400)
    try:
        tags = presets.parse_tags(request.GET.get("tags"))
    except presets.BadTags as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    response = JsonResponse({"preset": presets.describe(tags, geometry, get_language())})
    response["Cache-Control"] = "public, max-age=3600"
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


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

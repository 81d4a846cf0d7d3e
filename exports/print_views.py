"""Thin views for base tiles and printed maps (the agent's print pages)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET

from exports import tiles

TILE_CACHE_CONTROL = "public, max-age=60"  # short: an accepted edit redraws tiles within a minute


@require_GET
def tile(request: HttpRequest, z: str, x: str, y: str, retina: str | None = None) -> HttpResponse:
    """One base tile (PNG); 400 for coordinates that are not numbers, 404 outside the pyramid."""
    try:
        zi, xi, yi = tiles.parse_tile(z, x, y)
    except tiles.BadTile as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    except tiles.NoSuchTile as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain")
    is_retina = bool(retina)
    etag = tiles.tile_etag(zi, xi, yi, is_retina)
    if etag and etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        body, etag = tiles.get_tile(zi, xi, yi, is_retina)
        response = HttpResponse(body, content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = TILE_CACHE_CONTROL
    return response

"""The party map as an installable, offline-first web app: its service worker and its manifest.

The service worker is served here, not as a static file: its URL (/parties/offline-sw.js) gives it
the scope /parties/ (the party map pages) without a Service-Worker-Allowed header, and the Workbox
builds and the party map's files it loads are named by ``static()``, so the production storage's
hashed names are used (a release changes this script's bytes, and browsers update the worker).
What it does is mapping/static/mapping/js/offline-sw.js; docs/offline.md explains the caches.
"""

from __future__ import annotations

import json
from functools import cache

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from parties import permissions
from parties.models import Party

WORKBOX = "vendor/workbox@7.4.1"
WORKBOX_MODULES = (
    "workbox-core",
    "workbox-routing",
    "workbox-strategies",
    "workbox-expiration",
    "workbox-cacheable-response",
)
SW_SCRIPT = "mapping/js/offline-sw.js"
# The party map's own static files, installed with the worker (the page opens offline at once).
PRECACHE_PREFIXES = (
    "mapping/js/",
    "mapping/css/",
    "js/",
    "css/",
    "leaflet/",
    "vendor/idb@",
    "vendor/leaflet-geoman@",
    "img/",
)
PRECACHE_SUFFIXES = (".js", ".css", ".png", ".svg")


@cache
def precache_paths() -> tuple[str, ...]:
    """Static paths (unhashed) of what the party map loads: our modules, styles, Leaflet, Leaflet-Geoman, idb."""
    found: set[str] = set()
    for finder in finders.get_finders():
        for path, _storage in finder.list([]):
            path = path.replace("\\", "/")
            if path.startswith(PRECACHE_PREFIXES) and path.endswith(PRECACHE_SUFFIXES) and path != SW_SCRIPT:
                found.add(path)
    return tuple(sorted(found))


def _url(path: str) -> str:
    """The static URL as the browser writes it: ``static()`` quotes the "@" of our vendored folders
    (vendor/idb@8.0.4), the module imports do not, and the caches match URLs as written."""
    return static(path).replace("%40", "@")


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker script: Workbox, the list of files to install, then our routes."""
    scripts = [_url(f"{WORKBOX}/{name}.prod.js") for name in WORKBOX_MODULES]
    precache = [_url(path) for path in precache_paths()]
    body = (
        "// Cartoparty's service worker (parties/offline_views.py): Workbox, then offline-sw.js.\n"
        f"self.CARTOPARTY_PRECACHE = {json.dumps(precache)};\n"
        f"importScripts({', '.join(json.dumps(s) for s in [*scripts, _url(SW_SCRIPT)])});\n"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/parties/"
    return response


@require_GET
def manifest(request: HttpRequest, party_id: int) -> JsonResponse:
    """The web app manifest of a party map: installs to the home screen, opens on the party."""
    if not request.user.is_authenticated:
        raise Http404
    party = get_object_or_404(Party, pk=party_id)
    if not permissions.can_view_party(request.user, party):
        raise Http404
    start = reverse("parties:map", kwargs={"party_id": party.pk})
    data = {
        "id": start,
        "name": f"{party.title} · Cartoparty",
        "short_name": "Cartoparty",
        "description": _("Map your town with your neighbours, even without network."),
        "start_url": start,
        "scope": "/parties/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#00695c",
        "lang": request.LANGUAGE_CODE,
        "icons": [
            {"src": static("img/cartoparty-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/cartoparty-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("img/cartoparty.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response

"""The party map as an offline-first web app: the service worker's script (scope, hashed static
names, what it installs) and the party's web app manifest (only for those who may see the party)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings

from parties.offline_views import precache_paths
from tests.factories import PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def test_the_service_worker_covers_the_party_maps_and_loads_only_our_own_files(client, resident, party):
    response = client.get("/parties/offline-sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"  # a release reaches browsers at their next visit
    assert response["Service-Worker-Allowed"] == "/parties/"
    body = response.content.decode()
    imported = re.search(r"importScripts\((.*)\);", body).group(1)
    scripts = json.loads(f"[{imported}]")
    assert scripts[0] == "/static/vendor/workbox@7.4.1/workbox-core.prod.js"
    assert scripts[-1] == "/static/mapping/js/offline-sw.js"
    assert all(s.startswith("/static/") for s in scripts)  # no CDN
    precache = json.loads(re.search(r"CARTOPARTY_PRECACHE = (.*);", body).group(1))
    for needed in (
        "/static/mapping/js/party-map.js",
        "/static/mapping/js/party-map/outbox.js",
        "/static/vendor/idb@8.0.4/index.js",
    ):
        assert needed in precache
    assert "/static/mapping/js/offline-sw.js" not in precache


def test_the_service_worker_names_the_hashed_files_in_production(client, settings):
    class Hashed:
        def url(self, path):
            return f"/static/{path.replace('.js', '.abc123.js')}"

    with override_settings(), pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.templatetags.static.staticfiles_storage", Hashed(), raising=False)
        mp.setattr("django.contrib.staticfiles.storage.staticfiles_storage", Hashed())
        body = client.get("/parties/offline-sw.js").content.decode()
    assert "/static/mapping/js/offline-sw.abc123.js" in body
    assert "/static/vendor/workbox@7.4.1/workbox-routing.prod.abc123.js" in body


def test_the_party_map_links_its_manifest_and_the_worker(client, resident, party):
    client.force_login(resident)
    page = client.get(f"/parties/{party.pk}/map/").content.decode()
    assert f'href="/parties/{party.pk}/manifest.webmanifest" crossorigin="use-credentials"' in page
    assert 'data-sw-url="/parties/offline-sw.js"' in page and 'data-sw-scope="/parties/"' in page


def test_the_manifest_installs_the_party_map(client, resident, party):
    client.force_login(resident)
    response = client.get(f"/parties/{party.pk}/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = response.json()
    assert data["start_url"] == f"/parties/{party.pk}/map/" and data["scope"] == "/parties/"
    assert data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    assert party.title in data["name"]


def test_the_manifest_of_a_party_is_not_shown_to_strangers(client, party):
    assert client.get(f"/parties/{party.pk}/manifest.webmanifest").status_code == 404
    other = ResidentFactory(party=PartyFactory())
    client.force_login(other)
    assert client.get(f"/parties/{party.pk}/manifest.webmanifest").status_code == 404
    assert client.get("/parties/99999999/manifest.webmanifest").status_code == 404
    assert client.post("/parties/offline-sw.js").status_code == 405


def test_the_precache_list_holds_no_service_worker_and_only_static_kinds():
    paths = precache_paths()
    assert paths and all(p.endswith((".js", ".css", ".png", ".svg")) for p in paths)
    assert not any(p.startswith("vendor/workbox") for p in paths)

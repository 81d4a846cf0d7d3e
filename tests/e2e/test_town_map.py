"""The public town map in a real browser on a phone-sized viewport."""

from __future__ import annotations

import re

import pytest

from mapping.osm_import import import_osm
from tests.conftest import CENTRE_PBF

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_town_map_on_phone_draws_features_offline(live_server, phone_page, browser_log):
    """Features are drawn, nothing is requested off localhost, and the browser logs no error."""
    import_osm(CENTRE_PBF, "centre", "Vaduz centre")
    data_requests: list[str] = []
    phone_page.on("request", lambda r: "/api/" in r.url and data_requests.append(r.url))
    phone_page.goto(f"{live_server.url}/towns/centre/")
    map_el = phone_page.locator("#town-map")
    phone_page.wait_for_function("document.getElementById('town-map').dataset.state === 'loaded'")
    assert int(map_el.get_attribute("data-features")) > 20
    # Leaflet drew the features (canvas renderer) and the map fills the screen.
    assert phone_page.locator("#town-map canvas.leaflet-zoom-animated").count() >= 1
    box = map_el.bounding_box()
    assert box["width"] == 360 and box["height"] > 600
    # The base map comes from the app's own tile server.
    phone_page.wait_for_function("document.querySelectorAll('#town-map img.leaflet-tile-loaded').length > 0")
    assert all(
        "/tiles/" in src
        for src in phone_page.eval_on_selector_all("#town-map img.leaflet-tile", "els => els.map(e => e.src)")
    )
    # Map data comes as shared tiles of the view, each asked for once.
    assert data_requests and all(
        re.search(r"/api/towns/centre/features/tiles/\d+/\d+/\d+$", u) for u in data_requests
    )
    assert len(set(data_requests)) == len(data_requests)
    phone_page.get_by_role("button", name="Zoom in").click()
    phone_page.wait_for_function("document.getElementById('town-map').dataset.state === 'loaded'")
    assert browser_log.external_requests == []
    assert browser_log.errors == []

"""The open-data page in a real browser: public, accessible landmarks, a download that works."""

from __future__ import annotations

import pytest

from mapping.osm_import import import_osm
from tests.conftest import CENTRE_PBF

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_open_data_page_downloads_the_pbf(live_server, desktop_page, browser_log, settings, tmp_path):
    """No login; the licence is shown; clicking the PBF downloads a real OSM PBF file."""
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    import_osm(CENTRE_PBF, "centre", "Vaduz centre")
    desktop_page.goto(f"{live_server.url}/towns/centre/data/")
    assert desktop_page.get_by_role("heading", name="Licence and attribution").is_visible()
    assert desktop_page.get_by_role("link", name="API documentation (OpenAPI)").is_visible()
    with desktop_page.expect_download() as info:
        desktop_page.get_by_role("link", name="centre.osm.pbf").click()
    download = info.value
    assert download.suggested_filename == "centre.osm.pbf"
    with open(download.path(), "rb") as fh:
        assert b"OSMHeader" in fh.read(64)
    assert browser_log.external_requests == []
    assert [e for e in browser_log.errors if "/tiles/" not in e] == []

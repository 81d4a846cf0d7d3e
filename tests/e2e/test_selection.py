"""Selection on the demo town, as a person does it: tap a real shop, café or bench of central Vaduz.

The features are the imported demo data (Liechtenstein, 2013), found by a query, not fixtures shaped
for the test: named points of interest inside central Vaduz, each with no other mapped point within
a few metres (a tap there can only mean that one). Every tap must select that feature, never the
district boundary ("Wahlkreis Oberland") drawn over the whole town, and show its preset in French.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from mapping.models import Revision
from mapping.osm_import import import_osm
from parties import presets
from tests.conftest import DEMO_PBF
from tests.e2e.test_resident import join, real_errors, settle
from tests.factories import PartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CENTRE = (9.518, 47.136, 9.526, 47.143)  # west, south, east, north: the Städtle and around
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "fr-FR"}


def named_pois(town, limit: int) -> list[dict]:
    """Named amenities, shops and tourism points of central Vaduz that stand alone (3 m around)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT n.osm_id, n.tags->>'name', ST_X(n.geom), ST_Y(n.geom), n.tags
            FROM mapping_node n
            WHERE n.town_id = %s AND n.visible AND n.tags <> '{}'::jsonb AND n.tags ? 'name'
              AND (n.tags ? 'amenity' OR n.tags ? 'shop' OR n.tags ? 'tourism')
              AND n.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
              AND NOT EXISTS (SELECT 1 FROM mapping_node o
                              WHERE o.town_id = n.town_id AND o.visible AND o.tags <> '{}'::jsonb
                                AND o.osm_id <> n.osm_id AND ST_DWithin(o.geom, n.geom, 0.00004))
            ORDER BY n.osm_id LIMIT %s
            """,
            [town.pk, *CENTRE, limit],
        )
        rows = cur.fetchall()
    return [{"id": r[0], "name": r[1], "lon": r[2], "lat": r[3], "tags": json.loads(r[4])} for r in rows]


def french_preset(tags: dict) -> str:
    return presets.describe(tags, "point", "fr")["name"]


def richest(pois: list[dict]) -> dict:
    """The POI whose preset fields are the most filled in: the user guide's picture."""

    def filled(poi: dict) -> int:
        detail = presets.describe(poi["tags"], "point", "fr")
        return sum(detail["field_defs"][fid]["key"] in poi["tags"] for fid in detail["fields"])

    return max(pois, key=filled)


def unset_choice(poi: dict, set_name: str) -> tuple[str, str] | None:
    """A (key, value) the POI's preset offers as a choice (yes/no or a list) that it does not carry yet."""
    detail = presets.describe(poi["tags"], "point", "fr", set_name)
    for fid in detail["fields"]:
        field = detail["field_defs"][fid]
        if field["key"] in poi["tags"] or field.get("multiple"):
            continue
        if field["type"] == "check":
            return field["key"], "yes"
        if field["type"] == "combo" and field.get("options"):
            return field["key"], field["options"][0]["value"]
    return None


def tap_centre(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def shot(page, name: str, keep: bool = False) -> None:
    """A screenshot in var/screenshots/ to look at; ``keep`` ones are the user guide's pictures,
    written to docs/img/ only when UPDATE_DOC_SCREENSHOTS=1 (a test run leaves the tree clean)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))
    if keep and os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / name))


@pytest.fixture
def vaduz_demo(transactional_db):
    return import_osm(DEMO_PBF, "vaduz", "Vaduz").town


def wait_loaded(page, map_id: str) -> None:
    page.wait_for_function(f"document.getElementById('{map_id}').dataset.state === 'loaded'")


def test_tapping_real_pois_on_the_phone_town_map_selects_them(live_server, new_page, browser_log, vaduz_demo):
    pois = named_pois(vaduz_demo, 6)
    assert len(pois) >= 4, pois
    showcase = richest(pois)
    page = new_page(**PHONE)
    for i, poi in enumerate(pois):
        page.goto(f"{live_server.url}/towns/vaduz/#19/{poi['lat']}/{poi['lon']}")
        if i:
            page.reload()  # only the hash changed: load the page at the new place
        wait_loaded(page, "town-map")
        tap_centre(page, "#town-map")
        popup = page.locator(".leaflet-popup")
        expect(popup.locator(".feature-title")).to_have_text(poi["name"])
        page.wait_for_function(
            f"document.getElementById('town-map').dataset.described === 'node/{poi['id']}'"
        )
        # The preset's name in French, and the popup stayed open once the tap was over.
        expect(popup.locator(".feature-preset")).to_have_text(french_preset(poi["tags"]))
        expect(popup).to_be_visible()
        assert page.locator("#town-map").get_attribute("data-selected") == f"node/{poi['id']}"
        # Raw tags only in expert mode (closed until opened).
        expect(popup.locator(".feature-tags dl")).to_be_hidden()
        if poi is showcase:
            shot(page, "phone-select-fr.png", keep=True)
            popup.locator(".feature-tags summary").click()
            expect(popup.locator(".feature-tags dl")).to_contain_text(
                poi["tags"]["amenity"] if "amenity" in poi["tags"] else poi["name"]
            )
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_taps_all_over_central_vaduz_never_select_a_boundary(live_server, new_page, browser_log, vaduz_demo):
    """The district and the municipality cover the whole view: they never catch a tap."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT 'relation/' || osm_id FROM mapping_relation WHERE town_id = %s AND tags ? 'boundary'"
            " UNION ALL SELECT 'way/' || osm_id FROM mapping_way WHERE town_id = %s AND tags ? 'boundary'",
            [vaduz_demo.pk, vaduz_demo.pk],
        )
        boundaries = {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT 'relation/' || osm_id FROM mapping_relation WHERE town_id = %s"
            " AND tags->>'name' = 'Wahlkreis Oberland' AND geom IS NOT NULL",
            [vaduz_demo.pk],
        )
        district = cur.fetchone()
    assert district and district[0] in boundaries  # drawn over central Vaduz
    page = new_page(**PHONE)
    poi = named_pois(vaduz_demo, 1)[0]
    page.goto(f"{live_server.url}/towns/vaduz/#18/{poi['lat']}/{poi['lon']}")
    wait_loaded(page, "town-map")
    box = page.locator("#town-map").bounding_box()
    selected = []
    for dx in (-140, -70, 0, 70, 140):
        for dy in (-280, -140, 0, 140, 280):
            page.touchscreen.tap(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
            selected.append(page.locator("#town-map").get_attribute("data-selected"))
    assert not boundaries & set(selected), selected
    assert any(selected), "some taps land on a feature"
    assert real_errors(browser_log) == []


def test_desktop_english_click_selects_the_poi(live_server, desktop_page, browser_log, vaduz_demo):
    poi = richest(named_pois(vaduz_demo, 6))
    page = desktop_page
    page.goto(f"{live_server.url}/towns/vaduz/#19/{poi['lat']}/{poi['lon']}")
    wait_loaded(page, "town-map")
    box = page.locator("#town-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup")
    expect(popup.locator(".feature-title")).to_have_text(poi["name"])
    english = presets.describe(poi["tags"], "point", "en")["name"]
    expect(popup.locator(".feature-preset")).to_have_text(english)
    shot(page, "desktop-select-en.png", keep=True)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_a_resident_taps_real_pois_edits_one_and_moves_one(live_server, new_page, browser_log, vaduz_demo):
    party = PartyFactory(town=vaduz_demo)
    pois = named_pois(vaduz_demo, 6)
    page = new_page(**PHONE)
    join(page, live_server, party, "Camille")
    wait_loaded(page, "party-map")
    showcase = richest(pois)
    for poi in pois:
        page.goto(f"{live_server.url}/parties/{party.pk}/map/#19/{poi['lat']}/{poi['lon']}")
        page.reload()
        wait_loaded(page, "party-map")
        tap_centre(page, "#party-map")
        expect(page.locator("#sheet")).to_be_visible()
        # The editor names it: its name as the title, its preset (in French), its fields.
        expect(page.locator("#sheet-title")).to_have_text(poi["name"])
        # (after the set's glyph, when the preset is one of the party's set)
        expect(page.locator("#editor-preset")).to_have_text(
            re.compile(re.escape(french_preset(poi["tags"])) + "$")
        )
        expect(page.locator("#editor-fields input[name=name]")).to_have_value(poi["name"])
        expect(page.locator("#expert")).to_be_hidden()  # raw tags only in expert mode
        assert page.locator("#party-map").get_attribute("data-selected") == f"node/{poi['id']}"
        if poi is showcase:
            shot(page, "phone-edit-fr.png", keep=True)
        page.locator('[data-action="close-sheet"]').click()
    assert not Revision.objects.exists()

    # Edit one through a preset field, as a person picks: a yes/no or a list of choices not set yet.
    first, key, value = next((p, *choice) for p in pois if (choice := unset_choice(p, party.preset_set)))
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#19/{first['lat']}/{first['lon']}")
    page.reload()
    wait_loaded(page, "party-map")
    tap_centre(page, "#party-map")
    page.locator(f'#editor-fields select[name="{key}"]').select_option(value)
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_have_text("Enregistré : votre modification attend d’être relue.")
    edit = Revision.objects.get()
    assert edit.action == "modify" and edit.element_id == first["id"]
    assert edit.after["tags"] == {**first["tags"], key: value}

    # Move the second one a little to the north-east.
    second = next(p for p in pois if p is not first)
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#19/{second['lat']}/{second['lon']}")
    page.reload()
    wait_loaded(page, "party-map")
    tap_centre(page, "#party-map")
    expect(page.locator("#sheet-title")).to_have_text(second["name"])
    page.locator("#geometry-button").click()
    marker = page.locator(".leaflet-marker-draggable")
    expect(marker).to_be_visible()
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y - 30, steps=5)
    page.mouse.up()
    page.locator('[data-action="finish-geometry"]').click()
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_have_text(re.compile("Enregistré"))
    moved = Revision.objects.get(element_id=second["id"])
    lon, lat = moved.after["geometry"]["coordinates"]
    assert lon > second["lon"] and lat > second["lat"]
    assert moved.after["tags"] == second["tags"]
    settle(page)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []

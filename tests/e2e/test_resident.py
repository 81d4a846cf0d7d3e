"""A resident maps from their phone: join, add a bench through the preset picker, see it pending;
two residents edit the same bench and the second chooses in the conflict screen; French and English."""

from __future__ import annotations

import json
import math
import re

import pytest
from django.contrib.gis.geos import LineString, Point
from playwright.sync_api import expect

from mapping.models import Revision, Way
from mapping.store import apply_change
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory, NodeFactory, PartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BENCH = (9.5209, 47.1410)


def real_errors(log) -> list[str]:
    """Console errors, except missing base-map tiles (the tile server is not part of these tests)."""
    return [e for e in log.errors if "/tiles/" not in e and "404" not in e]


def settle(page) -> None:
    """Wait until the map data request the last action started has answered (the test database is
    flushed after each test: a request still running would hold its tables)."""
    page.wait_for_function("document.getElementById('party-map').dataset.state !== 'loading'")


def join(page, live_server, party, nickname: str) -> None:
    page.goto(f"{live_server.url}/join/{party.join_code}/")
    page.locator("input[name=nickname]").fill(nickname)
    page.locator("input[name=consent]").check()
    page.locator("form.join-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/parties/{party.pk}/map/"))


def open_map_at(page, live_server, party, lon: float, lat: float, zoom: int = 19) -> None:
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#{zoom}/{lat}/{lon}")
    page.wait_for_function("document.getElementById('party-map').dataset.features === '1'")


def test_resident_adds_a_bench_on_a_phone_and_sees_it_pending(live_server, phone_page, browser_log):
    party = PartyFactory()
    page = phone_page
    join(page, live_server, party, "Camille")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    # The map fills the phone screen above a one-thumb toolbar.
    box = page.locator("#party-map").bounding_box()
    assert box["width"] == 360 and box["height"] > 500
    page.get_by_role("button", name="Point").click()
    page.get_by_role("button", name="Place the point here").click()
    page.get_by_label("What is it?").fill("bench")
    page.get_by_role("button", name="Bench", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Banc des tilleuls")
    page.get_by_label("Backrest").select_option("yes")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '1'")
    assert page.locator('#party-map path[data-pending="create"]').count() == 1

    revision = Revision.objects.get()
    assert revision.status == "pending" and revision.preset == "amenity/bench"
    assert revision.after["tags"] == {"amenity": "bench", "name": "Banc des tilleuls", "backrest": "yes"}
    assert party.area.contains(revision.geom_after)

    page.get_by_role("button", name="My contributions").click()
    item = page.locator("#contribution-list li").first
    expect(item).to_contain_text("Banc des tilleuls")
    expect(item).to_contain_text("Waiting for review")

    # Undo withdraws it; the pending marker goes away.
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#map-status")).to_have_text("Your last change was withdrawn.")
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '0'")
    revision.refresh_from_db()
    assert revision.status == "withdrawn"
    settle(page)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_a_refused_tag_is_shown_next_to_the_field(live_server, phone_page, browser_log):
    party = PartyFactory()
    page = phone_page
    join(page, live_server, party, "Alex")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    page.get_by_role("button", name="Point").click()
    page.get_by_role("button", name="Place the point here").click()
    page.get_by_label("What is it?").fill("defib")
    page.get_by_role("button", name="Defibrillator").click()
    page.get_by_label("Name", exact=True).fill("DAE de la mairie")
    page.get_by_label("Expert mode (raw tags)").check()
    page.get_by_role("button", name="Add a tag").click()
    row = page.locator(".tag-row").last
    row.get_by_label("Key").fill("name")
    row.get_by_label("Value").fill("Another name")
    page.get_by_role("button", name="Save").click()
    field = page.locator('.field[data-key="name"]')
    expect(field.locator(".field-error")).to_contain_text("The key “name” is used twice.")
    expect(field.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    assert not Revision.objects.exists()
    assert [e for e in real_errors(browser_log) if "400 (Bad Request)" not in e] == []


def open_bench(page) -> None:
    """Tap the bench, which the map is centred on."""
    box = page.locator("#party-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#sheet")).to_be_visible()


def test_two_residents_edit_the_same_bench_and_the_second_chooses(live_server, new_page, browser_log):
    party = PartyFactory()
    bench = NodeFactory(town=party.town, tags={"amenity": "bench"}, geom=Point(*BENCH, srid=4326))
    first = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="en-GB")
    second = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    join(first, live_server, party, "First")
    join(second, live_server, party, "Second")
    for page in (first, second):
        open_map_at(page, live_server, party, *BENCH)
        open_bench(page)
        expect(page.get_by_label("Name", exact=True)).to_be_visible()

    first.get_by_label("Name", exact=True).fill("Banc du premier")
    first.get_by_role("button", name="Save").click()
    expect(first.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    accepted = Revision.objects.get(author__nickname="First")
    apply_change(  # an agent accepts the first change: the bench is now at version 2
        town=party.town, element_type="node", element_id=bench.osm_id, action="modify",
        after=accepted.after, base_version=accepted.base_version,
    )  # fmt: skip

    second.get_by_label("Name", exact=True).fill("Banc du second")
    second.get_by_label("Backrest").select_option("no")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_role("heading", name="Someone else changed this")).to_be_visible()
    conflict = second.locator("#conflict-rows fieldset")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Banc du premier")
    conflict.get_by_label(re.compile("Theirs")).check()
    second.get_by_role("button", name="Save my choices").click()
    expect(second.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    mine = Revision.objects.get(author__nickname="Second")
    assert mine.base_version == 2
    assert mine.after["tags"] == {"amenity": "bench", "name": "Banc du premier", "backrest": "no"}
    settle(first)
    settle(second)
    assert browser_log.external_requests == []
    assert [e for e in real_errors(browser_log) if "409 (Conflict)" not in e] == []


def test_the_page_speaks_french_and_english(live_server, new_page, browser_log):
    party = PartyFactory()
    page = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="fr-FR")
    join(page, live_server, party, "Dominique")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator('[data-action="add-point"]').click()
    page.locator('[data-action="place-point"]').click()
    page.locator("#preset-search").fill("banc")
    expect(page.locator('#preset-list button[data-preset="amenity/bench"]')).to_have_text(re.compile("Banc"))
    page.locator('[data-action="close-sheet"]').click()

    page.locator("#lang-select").select_option("en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    page.get_by_role("button", name="Point").click()
    page.get_by_role("button", name="Place the point here").click()
    page.get_by_label("What is it?").fill("bench")
    expect(page.locator('#preset-list button[data-preset="amenity/bench"]')).to_have_text(re.compile("Bench"))
    settle(page)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def pixel(box: dict, centre: tuple[float, float], zoom: int, lon: float, lat: float) -> tuple[float, float]:
    """Where (lon, lat) is on screen when the map shows ``centre`` at ``zoom`` (Web Mercator)."""

    def project(lo: float, la: float) -> tuple[float, float]:
        scale = 256 * 2**zoom
        y = math.log(math.tan(math.pi / 4 + math.radians(la) / 2))
        return (lo + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale

    (x0, y0), (x1, y1) = project(*centre), project(lon, lat)
    return box["x"] + box["width"] / 2 + (x1 - x0), box["y"] + box["height"] / 2 + (y1 - y0)


def test_draw_a_footpath_then_reshape_an_existing_one_keeping_its_nodes(
    live_server, desktop_page, browser_log
):
    party = PartyFactory()
    coords = [(9.5200, 47.1410), (9.5209, 47.1412), (9.5218, 47.1410)]
    nodes = [NodeFactory(town=party.town, tags={}, geom=Point(x, y, srid=4326)) for x, y in coords]
    Way.objects.create(
        town=party.town, osm_id=77_000_001, version=1, tags={"highway": "footway"},
        nodes=[n.osm_id for n in nodes], geom=LineString(coords, srid=4326), geom_status="ok",
    )  # fmt: skip
    page = desktop_page
    centre, zoom = (9.5209, 47.1405), 18
    join(page, live_server, party, "Sacha")
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#{zoom}/{centre[1]}/{centre[0]}")
    page.wait_for_function("document.getElementById('party-map').dataset.features === '1'")
    box = page.locator("#party-map").bounding_box()

    # A new line: three taps, Finish, pick the preset, save: three new nodes.
    page.get_by_role("button", name="Line").click()
    for lon in (9.5203, 9.5209, 9.5215):
        page.mouse.click(*pixel(box, centre, zoom, lon, 47.1400))
    page.get_by_role("button", name="Finish").click()
    page.get_by_label("What is it?").fill("foot")
    page.get_by_role("button", name="Foot Path", exact=True).click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    created = Revision.objects.get(action="create")
    assert created.element_type == "way" and created.after["tags"]["highway"] == "footway"
    assert [n[0] for n in created.after["nodes"]] == [None, None, None] and created.after["closed"] is False

    # Reshape the published footway: select it, drag its middle vertex, add a vertex, save.
    page.mouse.click(*pixel(box, centre, zoom, 9.52045, 47.1411))
    page.get_by_role("button", name="Move or reshape").click()
    page.mouse.move(*pixel(box, centre, zoom, *coords[1]))
    page.mouse.down()
    page.mouse.move(*pixel(box, centre, zoom, 9.5209, 47.1415), steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Done moving").click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    reshaped = Revision.objects.get(action="modify")
    assert [n[0] for n in reshaped.after["nodes"]] == [n.osm_id for n in nodes]
    assert reshaped.after["nodes"][1][2] > 47.1414  # the middle node moved north
    assert reshaped.after["nodes"][0][1:] == [9.52, 47.141]  # the others stayed
    settle(page)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_a_busy_server_is_retried_with_the_same_idempotency_key(live_server, phone_page, browser_log):
    """503 then 429 (Retry-After: 1): the page waits, retries with the same key, and saves once."""
    party = PartyFactory()
    page = phone_page
    join(page, live_server, party, "Robin")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    keys: list[str] = []

    def flaky(route):
        keys.append(json.loads(route.request.post_data)["idempotency_key"])
        if len(keys) == 1:
            route.fulfill(status=503, body="busy")
        elif len(keys) == 2:
            route.fulfill(status=429, headers={"Retry-After": "1"}, json={"detail": "slow down"})
        else:
            route.continue_()

    page.route("**/edits/", flaky)
    page.get_by_role("button", name="Point").click()
    page.get_by_role("button", name="Place the point here").click()
    page.get_by_label("What is it?").fill("waste")
    page.get_by_role("button", name="Trash Can").click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map-status")).to_have_text("Saved: your change is waiting for review.")
    assert len(keys) == 3 and len(set(keys)) == 1
    revision = Revision.objects.get()
    assert revision.idempotency_key == keys[0] and revision.after["tags"] == {"amenity": "waste_basket"}
    settle(page)
    assert browser_log.external_requests == []
    assert [e for e in real_errors(browser_log) if "503" not in e and "429" not in e] == []


def test_an_agent_of_the_town_sees_the_map_read_only(live_server, desktop_page, browser_log):
    """Agents follow the party on its map: tags shown as text, no editing tools."""
    party = PartyFactory()
    NodeFactory(
        town=party.town, tags={"amenity": "bench", "name": "<b>Banc</b>"}, geom=Point(*BENCH, srid=4326)
    )
    agent = AgentFactory(town=party.town)
    page = desktop_page
    sign_in(page, live_server, agent)
    page.wait_for_load_state()
    open_map_at(page, live_server, party, *BENCH)
    expect(page.locator("#map-status")).to_have_text(re.compile("residents who joined the party"))
    assert page.get_by_role("button", name="Point").count() == 0
    open_bench(page)
    expect(page.locator("#sheet-title")).to_have_text("<b>Banc</b>")  # text, never HTML
    expect(page.locator("#contribution-list .feature-preset")).to_have_text("Bench")  # the preset, not tags
    info = page.locator("#contribution-list .feature-tags")
    expect(info.locator("dl")).to_be_hidden()  # raw tags in expert mode only
    info.locator("summary").click()
    expect(info.locator("dl")).to_contain_text("amenity")
    settle(page)
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_locate_me_centres_the_map_on_the_phone_position(live_server, new_page, browser_log):
    party = PartyFactory()
    page = new_page(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="en-GB",
        geolocation={"longitude": 9.5222, "latitude": 47.1388}, permissions=["geolocation"],
    )  # fmt: skip
    join(page, live_server, party, "Lou")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    page.get_by_role("button", name="Locate me").click()
    page.wait_for_function("location.hash.startsWith('#18/47.1388')")
    settle(page)
    assert "/9.5222" in page.evaluate("location.hash")
    assert real_errors(browser_log) == []

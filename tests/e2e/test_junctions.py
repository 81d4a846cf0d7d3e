"""Connected geometry in the browser, on a real road of the demo town (Postgass, central Vaduz): a
footpath drawn tap by tap snaps to the road (a junction inserted into it) and to its end node (its id
reused); a path drawn across the road gets iD's "crossing without a junction" warning and its fix;
a crossing is placed on the road by tapping it. Phone in French (360x740, touch), desktop in English;
the agent's review page shows the road the change modifies. Screenshots in /work/wt/shots/geometry/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mapping.models import Revision, Way
from mapping.store import element_state
from review.services import accept_revision
from tests.e2e.conftest import sign_in
from tests.e2e.test_resident import join, pixel, real_errors, settle
from tests.factories import AgentFactory, PartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/wt/shots/geometry")
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "fr-FR"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def along(a, b, t: float) -> tuple[float, float]:
    return (round(a[1] + (b[1] - a[1]) * t, 7), round(a[2] + (b[2] - a[2]) * t, 7))


def mode(page) -> str:
    return page.evaluate("document.getElementById('party-map').dataset.mode || ''")


def journey(page, live_server, town, touch: bool, tag: str) -> tuple[Way, list, list[Revision]]:
    party = PartyFactory(town=town)
    road = Way.objects.get(town=town, tags__name="Postgass", tags__highway="residential", visible=True)
    nodes = element_state(road)["nodes"]
    a, b = nodes[0], nodes[1]
    mid = along(a, b, 0.5)
    centre, zoom = (mid[0], mid[1] - 0.00012), 18
    join(page, live_server, party, f"Camille {tag}")
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#{zoom}/{centre[1]}/{centre[0]}")
    page.wait_for_function("document.getElementById('party-map').dataset.ready === 'true'")
    settle(page)
    box = page.locator("#party-map").bounding_box()

    def tap(lon: float, lat: float) -> None:
        x, y = pixel(box, centre, zoom, lon, lat)
        if touch:
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)

    # 1. A footpath from the road's middle node, 13 m south, and back onto the road's first segment.
    page.locator('[data-action="add-line"]').click()
    page.wait_for_function("Number(document.getElementById('party-map').dataset.snapWays) > 0")
    tap(b[1] + 0.000005, b[2] - 0.000004)  # near the road's middle node: snaps to it
    tap(mid[0], mid[1] - 0.00012)
    tap(mid[0] + 0.000004, mid[1] + 0.000006)  # a finger's width off the road: snaps onto it
    expect(page.locator("#party-map")).to_have_attribute("data-snapped", "2")
    expect(page.locator('#party-map path[data-snap="node"]')).to_have_count(0)  # circles are SVG paths
    shot(page, f"01-snapping-{tag}.png")
    page.locator('[data-action="finish-shape"]').click()
    page.locator('[data-preset="highway/footway"]').click()
    expect(page.locator("#warnings")).to_have_attribute("data-checked", "0", timeout=15_000)  # connected
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_contain_text(re.compile("Saved|Enregistré"))
    settle(page)

    # 2. A path across the road without a junction: the warning and its one-tap fix.
    p = along(a, b, 0.25)
    page.locator('[data-action="add-line"]').click()
    tap(p[0], p[1] - 0.00025)
    tap(p[0], p[1] + 0.00022)
    page.locator('[data-action="finish-shape"]').click()
    page.locator('[data-preset="highway/footway"]').click()
    warning = page.locator('#warnings .warning[data-code="crossing"]')
    expect(warning).to_be_visible(timeout=15_000)  # the check answers after the editor opens
    shot(page, f"02-warnings-{tag}.png")
    warning.locator("button.fix").click()
    expect(page.locator("#warnings")).to_have_attribute("data-checked", "0", timeout=15_000)
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_contain_text(re.compile("Saved|Enregistré"))
    settle(page)

    # 3. A crossing: the point under the cross is off the road, so the page asks for a tap on it.
    page.locator('[data-action="add-point"]').click()
    page.locator('[data-action="place-point"]').click()
    page.locator('[data-preset="highway/crossing"]').click()
    page.wait_for_function("document.getElementById('party-map').dataset.mode === 'add-vertex'")
    shot(page, f"03-tap-the-line-{tag}.png")
    c = along(a, b, 0.75)
    tap(c[0], c[1] + 0.000005)
    expect(page.locator("#save-button")).to_be_visible()
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_contain_text(re.compile("Saved|Enregistré"))
    settle(page)
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '3'")
    shot(page, f"04-pending-path-and-crossing-{tag}.png")
    revisions = list(Revision.objects.filter(party=party).order_by("pk"))
    return road, nodes, revisions


def check_revisions(road: Way, nodes: list, revisions: list[Revision]) -> None:
    path, across, crossing = revisions
    assert path.after["nodes"][0][0] == nodes[1][0]  # the road's node id is shared
    assert path.after["nodes"][2][0] is None
    assert path.after["joins"][0] | {"before": None} == {
        "way": road.osm_id, "base_version": road.version, "segment": 0, "vertex": 2, "before": None,
    }  # fmt: skip
    assert [j["vertex"] for j in across.after["joins"]] == [1] and len(across.after["nodes"]) == 3
    assert crossing.element_type == "node" and crossing.after["tags"]["highway"] == "crossing"
    assert crossing.after["joins"][0]["way"] == road.osm_id and crossing.after["joins"][0]["segment"] == 0


def accept_and_check(road: Way, nodes: list, revisions: list[Revision], agent) -> None:
    for rev in revisions:
        accept_revision(rev, agent)
    after = Way.objects.get(pk=road.pk)
    assert after.version == road.version + 3
    assert (
        len(after.nodes) == len(nodes) + 3 and after.nodes[0] == nodes[0][0] and after.nodes[4] == nodes[1][0]
    )
    assert revisions[2].element_id in after.nodes


def test_phone_in_french_snaps_a_footpath_and_places_a_crossing(live_server, new_page, browser_log, vaduz):
    page = new_page(**PHONE)
    road, nodes, revisions = journey(page, live_server, vaduz, touch=True, tag="phone-fr")
    check_revisions(road, nodes, revisions)
    accept_and_check(road, nodes, revisions, AgentFactory(town=vaduz))
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []


def test_desktop_in_english_and_the_review_shows_the_modified_road(live_server, new_page, browser_log, vaduz):
    page = new_page(**DESKTOP)
    road, nodes, revisions = journey(page, live_server, vaduz, touch=False, tag="desktop-en")
    check_revisions(road, nodes, revisions)
    agent = AgentFactory(town=vaduz)
    reviewer = new_page(**DESKTOP)
    sign_in(reviewer, live_server, agent, f"/manage/review/{revisions[0].pk}/")
    joined = reviewer.locator(f'.joined-ways li[data-way="{road.osm_id}"]')
    expect(joined).to_contain_text("Postgass")
    reviewer.wait_for_function("Number(document.getElementById('review-map').dataset.layers) > 2")
    reviewer.locator("#junctions-title").scroll_into_view_if_needed()
    shot(reviewer, "05-review-modified-road-desktop-en.png")
    accept_and_check(road, nodes, revisions, agent)
    assert real_errors(browser_log) == []

"""In the street: "Locate me" with Chromium's geolocation emulation (a good fix places a point at
once, a poor one asks first), and a photo attached to a new bench on a French phone that the agent
then sees in the review on a desktop in English. Screenshots go to $E2E_SCREENSHOTS when set."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from mapping.models import Photo, Revision
from tests.e2e.conftest import sign_in
from tests.e2e.test_resident import join
from tests.factories import AgentFactory, PartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HERE = {"latitude": 47.1410, "longitude": 9.5209}
SHOTS = Path(os.environ["E2E_SCREENSHOTS"]) if os.environ.get("E2E_SCREENSHOTS") else None
FR_PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "fr-FR",
}


def shot(page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def choose_bench(page) -> None:
    page.locator("#preset-search").fill("banc")
    page.locator('#preset-list button[data-preset="amenity/bench"]').click()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_locate_me_follows_and_a_poor_fix_asks_before_placing(live_server, new_page, browser_log):
    party = PartyFactory(gps_accuracy_m=20)
    page = new_page(**FR_PHONE, geolocation={**HERE, "accuracy": 6}, permissions=["geolocation"])
    join(page, live_server, party, "Loïc")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    page.locator('#toolbar [data-action="locate"]').click()
    panel = page.locator("#gps-panel")
    expect(panel).to_have_attribute("data-quality", "good")
    expect(page.locator("#gps-text")).to_have_text("GPS : à 6 m près")
    expect(page.locator('#toolbar [data-action="locate"]')).to_have_attribute("aria-pressed", "true")
    # The accuracy circle: 6 m at the map's scale, centred on the position's dot.
    circle, dot = page.locator("path.gps-accuracy"), page.locator("path.gps-position")
    expect(circle).to_have_count(1)
    expect(dot).to_have_count(1)
    shot(page, "locate-me-accuracy-circle")
    c, d = circle.bounding_box(), dot.bounding_box()
    assert abs((c["x"] + c["width"] / 2) - (d["x"] + d["width"] / 2)) < 2
    assert abs((c["y"] + c["height"] / 2) - (d["y"] + d["height"] / 2)) < 2

    # A good fix: the point goes where the phone is, no question asked.
    page.locator('[data-gps="place"]').click()
    choose_bench(page)
    page.locator("#save-button").click()
    # The save's answer first: the outbox draws a queued change as pending before the server has it.
    expect(page.locator("#map-status")).to_contain_text("Enregistré")
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '1'")
    lon, lat = Revision.objects.get().geom_after.coords
    assert abs(lon - HERE["longitude"]) < 1e-6 and abs(lat - HERE["latitude"]) < 1e-6

    # The phone moves between walls: a 60 m fix is shown as poor and placing there asks first.
    page.context.set_geolocation({"latitude": 47.1412, "longitude": 9.5212, "accuracy": 60})
    expect(panel).to_have_attribute("data-quality", "poor")
    expect(page.locator("#gps-text")).to_contain_text("imprécise")
    page.locator('[data-gps="place"]').click()
    confirm = page.locator("#gps-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("60 m")
    page.wait_for_timeout(400)  # the map's pan to the new fix (an animation) ends before the picture
    shot(page, "poor-fix-confirmation")
    c, d = circle.bounding_box(), dot.bounding_box()
    assert c["width"] > 5 * d["width"]  # ten times the radius of the first fix
    assert abs((c["x"] + c["width"] / 2) - (d["x"] + d["width"] / 2)) < 2
    page.locator('[data-gps="wait"]').click()
    expect(confirm).to_be_hidden()
    expect(page.locator("#picker")).to_be_hidden()
    page.locator('[data-gps="place"]').click()
    page.locator('[data-gps="place-anyway"]').click()
    expect(page.locator("#picker")).to_be_visible()
    choose_bench(page)
    page.locator("#save-button").click()
    # The save's answer first: the outbox draws a queued change as pending before the server has it.
    expect(page.locator("#map-status")).to_contain_text("Enregistré")
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '2'")
    newest = Revision.objects.order_by("-pk").first()
    lon, lat = newest.geom_after.coords
    assert abs(lon - 9.5212) < 1e-6 and abs(lat - 47.1412) < 1e-6

    # Placing stopped following (the resident looks at the new point): Locate me brings the map back
    # to the position; tapped once more it stops, and the panel goes away.
    page.locator('#toolbar [data-action="locate"]').click()
    expect(panel).to_be_visible()
    page.locator('#toolbar [data-action="locate"]').click()
    expect(panel).to_be_hidden()
    expect(page.locator('#toolbar [data-action="locate"]')).to_have_attribute("aria-pressed", "false")
    assert not [e for e in browser_log.errors if "/tiles/" not in e and "404" not in e]


def jpeg_file(tmp_path: Path) -> Path:
    path = tmp_path / "IMG_20260607_181500.jpg"
    image = Image.new("RGB", (1200, 900), (120, 160, 90))
    image.paste((90, 60, 30), (300, 500, 900, 620))  # a bench, seen from afar
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    path.write_bytes(buf.getvalue())
    return path


def test_resident_attaches_a_photo_and_the_agent_sees_it(live_server, new_page, browser_log, media, tmp_path):
    party = PartyFactory()
    agent = AgentFactory(town=party.town)
    page = new_page(**FR_PHONE)
    join(page, live_server, party, "Nadia")
    page.wait_for_function("document.getElementById('party-map').dataset.state === 'loaded'")
    page.locator('#toolbar [data-action="add-point"]').click()
    page.locator('#drawbar [data-action="place-point"]').click()
    choose_bench(page)
    expect(page.locator("#photo-input")).to_have_attribute("capture", "environment")
    page.locator("#photo-input").set_input_files(str(jpeg_file(tmp_path)))
    expect(page.locator("#photo-list img")).to_have_count(1)
    page.locator("#photo-add").scroll_into_view_if_needed()
    shot(page, "photo-picker")
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_have_text("Photo envoyée avec votre modification.")
    photo = Photo.objects.get()
    revision = Revision.objects.get()
    assert photo.revision == revision and photo.licence == ""

    desk = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    sign_in(desk, live_server, agent, f"/manage/review/{revision.pk}/")
    desk.goto(f"{live_server.url}/manage/review/{revision.pk}/")
    expect(desk.get_by_role("heading", name="Photos from the contributor")).to_be_visible()
    thumb = desk.locator(".review-photos img")
    expect(thumb).to_have_count(1)
    desk.wait_for_function("document.querySelector('.review-photos img').naturalWidth > 0")
    assert desk.evaluate("document.querySelector('.review-photos img').naturalWidth") == 320
    link = desk.locator(".review-photos a").get_attribute("href")
    assert link == f"/photos/{photo.pk}/display.jpg"
    desk.locator(".review-photos").scroll_into_view_if_needed()
    shot(desk, "review-with-thumbnail")
    assert not [e for e in browser_log.errors if "/tiles/" not in e and "404" not in e]

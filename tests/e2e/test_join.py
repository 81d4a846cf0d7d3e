"""Joining a party on a phone, and an agent setting one up, in Debian's chromium."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from parties.models import Party, User
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory, PartyFactory, ResidentFactory, RevisionFactory, TownFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Central Vaduz (lon/lat, WGS84).
BOUNDARY = MultiPolygon(Polygon.from_bbox((9.50, 47.12, 9.54, 47.16)), srid=4326)


def no_errors(browser_log) -> None:
    assert browser_log.external_requests == []
    # Missing /tiles/ are tolerated until the tile server exists.
    assert [e for e in browser_log.errors if "/tiles/" not in e and "404" not in e] == []


def test_resident_joins_from_the_link_on_a_phone(live_server, phone_page, browser_log):
    """Nickname + consent, then the party's mapping page; the nickname is refused without consent."""
    party = PartyFactory(title_en="Städtle mapping party")
    page = phone_page
    page.goto(f"{live_server.url}/join/{party.join_code}/")
    assert page.get_by_role("heading", name="Städtle mapping party").is_visible()
    page.get_by_label("Your nickname").fill("Anna")
    page.get_by_role("button", name="Join and start mapping").click()
    # Consent is required: the page says so next to the checkbox and nobody was created.
    assert page.get_by_role("alert").filter(has_text="accept the open licence").is_visible()
    assert not User.objects.filter(nickname="Anna").exists()
    browser_log.errors.clear()  # the refused form answered 400 on purpose; the browser logs that
    page.get_by_label("Your nickname").fill("Anna")
    page.get_by_label(re.compile("open data under the Open Database Licence")).check()
    page.get_by_role("button", name="Join and start mapping").click()
    page.wait_for_url(f"**/parties/{party.pk}/map/")
    assert page.locator("#party-map").is_visible()
    resident = User.objects.get(nickname="Anna")
    assert resident.party == party and not resident.has_usable_password()
    # The session cookie lasts until the party ends (not a browser-session cookie).
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    assert abs(cookie["expires"] - party.ends_at.timestamp()) < 5
    no_errors(browser_log)


def test_agent_signs_in_and_creates_a_party(live_server, desktop_page, browser_log):
    """Sign-in lands on the town's parties; the form creates a party on the town's boundary and the
    live dashboard loads its statistics."""
    town = TownFactory(slug="vaduz-e2e", name="Vaduz", boundary=BOUNDARY)
    agent = AgentFactory(town=town)
    page = desktop_page
    sign_in(page, live_server, agent)
    page.wait_for_url("**/manage/")
    assert page.get_by_text("No party yet").is_visible()
    page.get_by_role("link", name="Create a party").click()
    page.wait_for_url("**/manage/parties/new/")
    page.wait_for_function("document.querySelector('[data-area-widget]').dataset.state === 'ready'")
    page.get_by_label("Title in French").fill("Cartopartie d'automne")
    page.get_by_label("Title in English").fill("Autumn mapping party")
    page.get_by_label("Use the town's boundary as the area").check()
    start = timezone.localtime(timezone.now() + dt.timedelta(days=1)).replace(hour=18, minute=0)
    page.get_by_label("Starts at").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends at").fill((start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create the party").click()
    page.wait_for_url(re.compile(r"/manage/parties/\d+/$"))
    party = Party.objects.get()
    assert party.town == town and party.created_by == agent
    assert party.hashtag == f"#cartoparty-vaduz-e2e-{start.date().isoformat()}"
    page.wait_for_function("document.getElementById('dashboard').dataset.state === 'loaded'")
    assert page.locator("#contributors-count").text_content() == "0"
    assert page.get_by_role("link", name="Download the A4 poster (PDF)").is_visible()
    # Live: a resident's edit shows up without reloading (the next poll; triggered now by refocusing).
    RevisionFactory(party=party, author=ResidentFactory(party=party, nickname="Anna"), preset="amenity/bench")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function("document.getElementById('dashboard').dataset.edits === '1'")
    assert page.locator("#contributors").get_by_text("Anna").is_visible()
    assert page.locator("#by-preset").get_by_text("Bench").is_visible()
    no_errors(browser_log)


def test_agent_draws_the_area(live_server, desktop_page, browser_log):
    """Leaflet.draw's rectangle tool fills the area field; the party is saved with that polygon."""
    town = TownFactory(slug="vaduz-draw", boundary=BOUNDARY)
    agent = AgentFactory(town=town)
    page = desktop_page
    sign_in(page, live_server, agent, "/manage/parties/new/")
    page.wait_for_url("**/manage/parties/new/")
    page.wait_for_function("document.querySelector('[data-area-widget]').dataset.state === 'ready'")
    page.get_by_label("Title in French").fill("Cartopartie dessinée")
    start = timezone.localtime(timezone.now() + dt.timedelta(days=2)).replace(hour=18, minute=0)
    page.get_by_label("Starts at").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends at").fill((start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_title("Draw a rectangle").click()
    box = page.locator("[data-area-widget]").bounding_box()
    # A rectangle around the centre of the map, which shows the town's boundary.
    x, y = box["x"] + box["width"] / 2 - 60, box["y"] + box["height"] / 2 - 40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 80, steps=5)
    page.mouse.up()
    assert '"Polygon"' in page.locator("textarea.area-raw").input_value()
    page.get_by_role("button", name="Create the party").click()
    page.wait_for_url(re.compile(r"/manage/parties/\d+/$"))
    area = Party.objects.get().area
    assert area.geom_type == "Polygon" and BOUNDARY.contains(area)
    no_errors(browser_log)


def test_an_over_long_nickname_is_refused_in_the_page_not_cut(live_server, new_page):
    """No maxlength cuts what a person types: a 60-character nickname stays whole, the page says why it
    cannot be sent (in French on a French phone), nothing is sent, and 40 characters go through."""
    party = PartyFactory()
    page = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="fr-FR")
    page.goto(f"{live_server.url}/join/{party.join_code}/")
    field = page.get_by_label("Votre pseudonyme")
    field.fill("Ã" * 60)
    assert field.input_value() == "Ã" * 60  # nothing cut
    alert = page.get_by_role("alert").filter(has_text="Trop long : au plus 40 caractères (ici 60).")
    assert alert.is_visible()
    page.get_by_label(re.compile("J’accepte")).check()
    page.get_by_role("button", name="Rejoindre et commencer à cartographier").click()
    assert page.url.endswith(f"/join/{party.join_code}/")
    assert not User.objects.filter(party=party).exists()
    field.fill("Ã" * 40)
    assert not alert.is_visible()
    page.get_by_role("button", name="Rejoindre et commencer à cartographier").click()
    page.wait_for_url(re.compile(r"/parties/\d+/map/"))
    assert User.objects.filter(party=party, nickname="Ã" * 40).exists()

"""Review never dead-ends, in the browser: two residents edit the same café on their phones (French),
the agent accepts both on a desktop (English) — the second through the three-way choice — and a
resident follows the outcome on their contributions page.

Screenshots go to $E2E_SCREENSHOTS (when set): the revision page with the choice is the one kept in
docs/img/ for docs/review.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from mapping.models import Node, Revision
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory, NodeFactory, PartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CAFE = (9.5209, 47.1410)
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "fr-FR"}
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def real_errors(log) -> list[str]:
    """Console errors, except missing base-map tiles (the tile server is not part of these tests)."""
    return [e for e in log.errors if "/tiles/" not in e and "404" not in e and "409" not in e]


def join_and_edit(page, live_server, party, nickname: str, fields: dict[str, str]) -> None:
    """Join on the phone, tap the café (the map is centred on it), change fields, save."""
    page.goto(f"{live_server.url}/join/{party.join_code}/")
    page.get_by_label("Votre pseudonyme").fill(nickname)
    page.locator("input[name=consent]").check()
    page.get_by_role("button", name="Rejoindre et commencer à cartographier").click()
    page.wait_for_url(re.compile(rf"/parties/{party.pk}/map/"))
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#19/{CAFE[1]}/{CAFE[0]}")
    page.wait_for_function("document.getElementById('party-map').dataset.features === '1'")
    box = page.locator("#party-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#sheet")).to_be_visible()
    for key, value in fields.items():
        page.locator(f'.field[data-key="{key}"] input').fill(value)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#map-status")).to_have_text("Enregistré : votre modification attend d’être relue.")
    page.wait_for_function("document.getElementById('party-map').dataset.state !== 'loading'")


def test_two_residents_edit_the_same_cafe_and_the_agent_accepts_both(live_server, new_page, browser_log):
    party = PartyFactory(title_fr="Cartopartie du Städtle")
    cafe = NodeFactory(
        town=party.town, tags={"amenity": "cafe", "name": "Café Risch"}, geom=Point(*CAFE, srid=4326)
    )
    anna, ben = new_page(**PHONE), new_page(**PHONE)
    join_and_edit(anna, live_server, party, "Anna", {"name": "Café Risch Vaduz"})
    join_and_edit(ben, live_server, party, "Ben", {"name": "Risch", "phone": "+423 232 1234"})
    shot(ben, "1-resident-saved-fr")
    first = Revision.objects.get(author__nickname="Anna")
    second = Revision.objects.get(author__nickname="Ben")
    assert first.base_version == second.base_version == 1  # both waiting, both from version 1

    # The agent, on a desktop in English, accepts Anna's edit, then opens Ben's.
    agent = AgentFactory(town=party.town)
    page = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    sign_in(page, live_server, agent, f"/manage/review/%3Fparty%3D{party.pk}")
    page.wait_for_url("**/manage/review/**")
    page.get_by_role("link", name=f"#{first.pk}").click()
    page.get_by_role("button", name=re.compile("^Accept")).click()
    page.wait_for_url(f"**/manage/review/{second.pk}/**")
    expect(page.get_by_role("heading", name="Changed since this edit")).to_be_visible()
    table = page.locator(".merge-table")
    expect(
        table.get_by_role("row", name=re.compile(r"^name Café Risch Café Risch Vaduz Risch"))
    ).to_be_visible()
    expect(
        table.get_by_role("row", name=re.compile(r"^phone\s+\+423 232 1234 \+423 232 1234"))
    ).to_be_visible()
    shot(page, "2-agent-three-way-choice")
    # The agent keeps the name published since (Anna's) and Ben's phone number.
    page.locator("#accept-form").get_by_role("radio", name=re.compile("published since")).check()
    page.get_by_role("button", name=re.compile("^Accept with these choices")).click()
    page.wait_for_url("**/manage/review/?**")
    expect(page.get_by_role("status")).to_contain_text(f"Revision #{second.pk} merged with the newer version")
    shot(page, "3-agent-queue-after")

    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Café Risch Vaduz", "phone": "+423 232 1234"}
    assert cafe.version == 3
    assert set(Revision.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        "accepted"
    }

    # Ben follows the outcome on his phone, in French: in the map's panel, then on his contributions page.
    ben.get_by_role("button", name="Mes contributions").click()
    expect(ben.locator("#sheet .contribution.status-accepted .badge")).to_have_text(
        "Acceptée, combinée avec une autre modification publiée entre-temps"
    )
    ben.goto(f"{live_server.url}/my-contributions/")
    row = ben.locator(f"tr[data-revision='{second.pk}']")
    expect(row).to_contain_text("Acceptée, combinée avec une autre modification publiée entre-temps")
    shot(ben, "4-resident-outcome-fr")
    anna.goto(f"{live_server.url}/my-contributions/")
    expect(anna.locator(f"tr[data-revision='{first.pk}']")).to_contain_text("Acceptée et publiée")
    assert Node.objects.get(pk=cafe.pk).visible
    assert browser_log.external_requests == []
    assert real_errors(browser_log) == []

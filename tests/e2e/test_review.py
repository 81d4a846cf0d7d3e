"""An agent reviews a party's edits in the browser, rejects one with a reason, and the resident reads it."""

from __future__ import annotations

import re

import pytest

from mapping.models import Node, Revision
from parties.models import User
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory, PartyFactory, RevisionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def point(lon: float, lat: float, **tags) -> dict:
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def no_errors(browser_log) -> None:
    assert browser_log.external_requests == []
    # Missing /tiles/ are tolerated when no tile has been rendered for the test town.
    assert [e for e in browser_log.errors if "/tiles/" not in e and "404" not in e] == []


def test_agent_reviews_a_party_and_the_resident_reads_the_reason(
    live_server, phone_page, desktop_page, browser_log
):
    party = PartyFactory(title_fr="Cartopartie du Städtle")
    # The resident joins on their phone (a real passwordless session), then maps three things.
    phone_page.goto(f"{live_server.url}/join/{party.join_code}/")
    phone_page.get_by_label("Your nickname").fill("Anna")
    phone_page.get_by_label(re.compile("open data under the Open Database Licence")).check()
    phone_page.get_by_role("button", name="Join and start mapping").click()
    phone_page.wait_for_url(f"**/parties/{party.pk}/map/")
    anna = User.objects.get(nickname="Anna")
    bench = RevisionFactory(party=party, author=anna, after=point(9.5209, 47.1410, amenity="bench"))
    shop = RevisionFactory(
        party=party, author=anna, after=point(9.5215, 47.1405, shop="bakery", name="Anna's")
    )
    bin_ = RevisionFactory(party=party, author=anna, after=point(9.5220, 47.1412, amenity="waste_basket"))

    agent = AgentFactory(town=party.town)
    page = desktop_page
    sign_in(page, live_server, agent, f"/manage/review/%3Fparty%3D{party.pk}")
    page.wait_for_url("**/manage/review/**")
    assert page.locator("#queue-count").inner_text() == "3 revisions"
    page.get_by_role("link", name=f"#{bench.pk}").click()

    # The revision page: before/after map drawn offline, the tag diff, the documented shortcuts.
    page.locator("#review-map[data-state='loaded']").wait_for()  # CSP: no eval, so no wait_for_function
    assert page.get_by_role("row", name=re.compile("amenity.*bench.*added")).is_visible()
    assert page.get_by_role("heading", name="Keyboard shortcuts").is_visible()
    page.keyboard.press("a")  # accept, then on to the next one in the party's queue
    page.wait_for_url(f"**/manage/review/{shop.pk}/**")
    assert page.get_by_role("status").filter(has_text="accepted and published").is_visible()

    page.keyboard.press("r")  # focuses the reason
    page.keyboard.type("There is no bakery here any more.")
    page.get_by_label("Reason", exact=True).select_option("not_verifiable")
    page.get_by_role("button", name=re.compile("^Reject")).click()
    page.wait_for_url(f"**/manage/review/{bin_.pk}/**")
    page.keyboard.press("a")
    page.wait_for_url("**/manage/review/?**")
    assert page.get_by_text("Nothing to review with these filters").is_visible()

    assert list(
        Revision.objects.filter(pk__in=[bench.pk, shop.pk, bin_.pk])
        .order_by("pk")
        .values_list("status", flat=True)
    ) == ["accepted", "rejected", "accepted"]
    assert Node.objects.filter(town=party.town, osm_id__in=[bench.element_id, bin_.element_id]).count() == 2
    assert not Node.objects.filter(town=party.town, osm_id=shop.element_id).exists()

    # The resident sees what happened, with the canned reason in their language and the comment.
    phone_page.goto(f"{live_server.url}/my-contributions/")
    row = phone_page.locator(f"tr[data-revision='{shop.pk}']")
    assert "Rejected" in row.inner_text()
    assert "We could not verify this on the ground." in row.inner_text()
    assert "There is no bakery here any more." in row.inner_text()
    assert "Accepted" in phone_page.locator(f"tr[data-revision='{bench.pk}']").inner_text()
    no_errors(browser_log)

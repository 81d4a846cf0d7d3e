"""Stored XSS: no payload of tests/data/xss_payloads.txt ever runs, on any page that shows user data.

The payloads go into tag keys and values, the town's name, party titles and descriptions, nicknames
and review reasons, straight into the database (as if a bypass of the validation had let them in),
then every page that shows them is loaded in Chromium and the map popups are opened. A payload that
ran would set ``window.__xss`` or open a dialog (alert/confirm/prompt). The pages are loaded with
the CSP bypassed, so this proves the escaping itself; tests/e2e/test_csp.py proves the CSP on top.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.test import Client
from django.utils import timezone

from mapping.models import Node, Revision
from parties.models import Town
from tests.factories import AgentFactory, PartyFactory, ResidentFactory, RevisionFactory

PAYLOADS = [
    line for line in (Path(__file__).parents[1] / "data" / "xss_payloads.txt").read_text().split("\n") if line
]
CENTRE = (9.5209, 47.1410)


def test_the_corpus_is_large_enough():
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def _world():
    lon, lat = CENTRE
    square = Polygon.from_bbox((lon - 0.002, lat - 0.0015, lon + 0.002, lat + 0.0015))
    square.srid = 4326
    town = Town.objects.create(slug="xss", name=PAYLOADS[2][:200], boundary=MultiPolygon(square, srid=4326))
    agent = AgentFactory(town=town)
    party = PartyFactory(
        town=town,
        area=square,
        title_fr=PAYLOADS[0][:200],
        title_en=PAYLOADS[1][:200],
        description_fr=PAYLOADS[3],
        description_en=PAYLOADS[4],
        hashtag=PAYLOADS[5][:100],
    )
    short = [p for p in PAYLOADS if len(p) <= 40]
    residents = [ResidentFactory(party=party, nickname=nick) for nick in short[:4]]
    # Every payload as a tag key and as a tag value of one published node in the middle of the map.
    tags = {"name": PAYLOADS[6], "amenity": "bench"}
    tags.update({p: p for p in PAYLOADS})
    node = Node.objects.create(town=town, osm_id=-1, version=1, tags=tags, geom=Point(lon, lat, srid=4326))
    point = {"type": "Point", "coordinates": [lon, lat]}
    for i, payload in enumerate(PAYLOADS[:40]):
        author = residents[i % len(residents)]
        after = {"tags": {"amenity": "bench", "name": payload, payload: payload}, "geometry": point}
        status = [Revision.Status.PENDING, Revision.Status.ACCEPTED, Revision.Status.REJECTED][i % 3]
        reviewed = status != Revision.Status.PENDING
        RevisionFactory(
            party=party,
            author=author,
            after=after,
            preset=payload[:100],
            status=status,
            reviewer=agent if reviewed else None,
            reviewed_at=timezone.now() - dt.timedelta(minutes=i) if reviewed else None,
            review_reason=payload if reviewed else "",
        )
    return town, party, agent, residents[0], node


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _session_cookie(user, live_server) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def _assert_nothing_ran(page, dialogs: list[str], where: str) -> None:
    assert page.evaluate("window.__xss") is None, f"a payload ran on {where}"
    assert not dialogs, f"a dialog opened on {where}: {dialogs}"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_no_payload_runs_anywhere(live_server, new_page):
    town, party, agent, resident, node = _world()
    base = live_server.url
    dialogs: list[str] = []

    def page_for(user=None):
        page = new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        if user is not None:
            page.context.add_cookies([_session_cookie(user, live_server)])
        return page

    # The public map: open the popup of the node that carries every payload.
    page = page_for()
    _open(page, f"{base}/towns/{town.slug}/")
    page.wait_for_function("document.getElementById('map-status').textContent === ''")
    box = page.locator("#town-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".feature-popup")
    popup.wait_for()
    popup.locator(".feature-tags summary").click()  # the raw tags are behind "expert mode"
    text = popup.inner_text()
    assert PAYLOADS[6] in text  # shown as text, literally
    assert "<svg onload=window.__xss=1>" in text
    _assert_nothing_ran(page, dialogs, "the town map popup")
    for url in [
        f"/towns/{town.slug}/data/",
        f"/towns/{town.slug}/history/node/{node.osm_id}/",
        f"/towns/{town.slug}/as-of/?date={timezone.now().date().isoformat()}",
        f"/join/{party.join_code}/",
        "/",
    ]:
        _open(page, base + url)
        _assert_nothing_ran(page, dialogs, url)

    # The agent's pages: dashboard (live statistics), review queue, every revision, prints.
    page = page_for(agent)
    _open(page, f"{base}/manage/parties/{party.pk}/")
    page.wait_for_timeout(500)  # the first statistics poll has rendered
    _assert_nothing_ran(page, dialogs, "the dashboard")
    for url in [
        "/manage/",
        "/manage/review/",
        "/manage/review/?status=accepted",
        "/manage/review/?status=rejected",
    ]:
        _open(page, base + url)
        _assert_nothing_ran(page, dialogs, url)
    for revision in Revision.objects.filter(party=party).order_by("pk")[
        :6
    ]:  # pending, accepted, rejected x 2
        _open(page, f"{base}/manage/review/{revision.pk}/")
        _assert_nothing_ran(page, dialogs, f"revision {revision.pk}")
    _open(page, f"{base}/manage/parties/{party.pk}/edit/")
    _assert_nothing_ran(page, dialogs, "the party form")

    # The resident's pages: the party map with pending changes, and contributions with reasons.
    page = page_for(resident)
    for url in [f"/parties/{party.pk}/map/", "/my-contributions/"]:
        _open(page, base + url)
        _assert_nothing_ran(page, dialogs, url)

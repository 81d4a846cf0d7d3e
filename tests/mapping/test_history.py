"""Element history (timeline of versions) and the map as it was on a date, rebuilt from the decision log."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from mapping.history import element_history, features_as_of, parse_as_of
from mapping.models import Node
from mapping.selectors import BadRequest, BBox
from review import services as review
from tests.factories import NodeFactory, RevisionFactory

pytestmark = pytest.mark.django_db
VADUZ = BBox(9.50, 47.13, 9.54, 47.15)


def point(lon=9.5209, lat=47.1410, **tags):
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def features(town, at):
    data = json.loads(features_as_of(town, at, VADUZ))
    return {f["id"]: f["properties"] for f in data["features"]}


def test_timeline_lists_every_version_with_who_and_when(party, agent, resident):
    node = NodeFactory(town=party.town, tags={"amenity": "bench"})
    first = RevisionFactory.modify(node, point(amenity="bench", colour="red"), party=party, author=resident)
    review.accept_revision(first, agent)
    node.refresh_from_db()
    refused = RevisionFactory.modify(node, point(amenity="bin"), party=party, author=resident)
    review.reject_revision(refused, agent, "Not a bin")
    second = RevisionFactory.modify(node, point(amenity="bench", colour="blue"), party=party, author=resident)
    review.fix_and_accept(second, agent, point(amenity="bench", colour="green"))

    public = element_history(party.town, "node", node.osm_id, include_unpublished=False)
    assert [r.pk for r in public] == [first.pk, second.pk]
    assert [r.applied_decision.version_after for r in public] == [2, 3]
    assert [r.applied_decision.reviewer for r in public] == [agent, agent]
    assert {d["key"]: d["change"] for d in public[0].diff}["colour"] == "added"
    # The fix is what was published, so the timeline diffs against it.
    assert {d["key"]: d["new"] for d in public[1].diff}["colour"] == "green"
    everything = element_history(party.town, "node", node.osm_id, include_unpublished=True)
    assert [r.pk for r in everything] == [first.pk, refused.pk, second.pk]


def test_history_page_public_and_agent_views(client, party, agent, resident):
    node = NodeFactory(town=party.town, tags={"amenity": "bench"}, base_version=4)
    accepted = RevisionFactory.modify(node, point(amenity="bench", lit="yes"), party=party, author=resident)
    review.accept_revision(accepted, agent)
    node.refresh_from_db()
    pending = RevisionFactory.modify(node, point(amenity="bench", lit="no"), party=party, author=resident)
    url = reverse(
        "mapping:element-history",
        kwargs={"slug": party.town.slug, "element_type": "node", "element_id": node.osm_id},
    )
    body = client.get(url).content.decode()
    # The agent is credited by role: their user name is how they sign in, never shown publicly.
    assert "imported from OpenStreetMap" in body and resident.nickname in body and "Town agent" in body
    assert agent.username not in body
    assert f"#{pending.pk}" not in body
    client.force_login(agent)
    assert f"#{pending.pk}" in client.get(url).content.decode()
    missing = url.replace(str(node.osm_id), "999999999")
    assert client.get(missing).status_code == 404


def test_history_of_a_created_element_has_a_negative_id(client, party, agent, resident):
    created = RevisionFactory(party=party, author=resident)
    review.accept_revision(created, agent)
    url = f"/towns/{party.town.slug}/history/node/{created.element_id}/"
    assert created.element_id < 0 and client.get(url).status_code == 200


def test_map_as_of_a_date(party, agent, resident):
    town = party.town
    untouched = NodeFactory(town=town, tags={"amenity": "bench"})
    imported = NodeFactory(town=town, tags={"amenity": "bench", "name": "Old"})
    t0 = timezone.now()
    created = RevisionFactory(party=party, author=resident, after=point(9.522, 47.142, amenity="bench"))
    review.accept_revision(created, agent)
    t1 = timezone.now()
    modify = RevisionFactory.modify(
        imported, point(amenity="bench", name="New"), party=party, author=resident
    )
    review.accept_revision(modify, agent)
    t2 = timezone.now()
    created_node = Node.objects.get(town=town, osm_id=created.element_id)
    delete = RevisionFactory.delete(created_node, party=party, author=resident)
    review.accept_revision(delete, agent)
    t3 = timezone.now()

    new_id, old_id, keep_id = (
        f"node/{created.element_id}",
        f"node/{imported.osm_id}",
        f"node/{untouched.osm_id}",
    )
    at0 = features(town, t0)
    assert new_id not in at0 and at0[old_id]["tags"]["name"] == "Old" and keep_id in at0
    at1 = features(town, t1)
    assert at1[new_id]["version"] == 1 and at1[old_id]["tags"]["name"] == "Old"
    at2 = features(town, t2)
    assert new_id in at2 and (at2[old_id]["tags"]["name"], at2[old_id]["version"]) == ("New", 2)
    at3 = features(town, t3)
    assert new_id not in at3 and at3[old_id]["tags"]["name"] == "New" and keep_id in at3


def test_map_as_of_uses_the_agents_fix(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident, after=point(shop="bakry"))
    review.fix_and_accept(rev, agent, point(shop="bakery", name="Anna"))
    assert features(party.town, timezone.now())[f"node/{rev.element_id}"]["tags"]["shop"] == "bakery"


def test_as_of_api_and_page(client, party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    review.accept_revision(rev, agent)
    slug = party.town.slug
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    today = timezone.localdate().isoformat()
    bbox = "9.50,47.13,9.54,47.15"
    old = client.get(f"/api/towns/{slug}/as-of/{yesterday}/features", {"bbox": bbox, "zoom": 17})
    assert old.status_code == 200 and old.json()["features"] == []
    now = client.get(f"/api/towns/{slug}/as-of/{today}/features", {"bbox": bbox})
    assert [f["id"] for f in now.json()["features"]] == [f"node/{rev.element_id}"]
    assert client.get(f"/api/towns/{slug}/as-of/not-a-date/features", {"bbox": bbox}).status_code == 400
    assert client.get(f"/api/towns/{slug}/as-of/{today}/features").status_code == 400
    page = client.get(reverse("mapping:town-as-of", kwargs={"slug": slug}), {"date": today})
    assert page.status_code == 200 and f"/as-of/{today}/features" in page.content.decode()
    assert (
        client.get(reverse("mapping:town-as-of", kwargs={"slug": slug}), {"as_of": "32/13"}).status_code
        == 400
    )


def test_parse_as_of():
    end = parse_as_of("2026-01-31")
    assert (end.day, end.hour) == (1, 0) and timezone.is_aware(end)
    assert parse_as_of("2026-01-31T12:30:00").hour == 12
    for bad in ("", "yesterday", "2026-13-01"):
        with pytest.raises(BadRequest):
            parse_as_of(bad)

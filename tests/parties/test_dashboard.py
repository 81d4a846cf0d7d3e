"""The live dashboard's data: contributors, edits by status and preset, recent edits, ETag/304."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from mapping.models import Revision
from parties.services import join_party
from tests.factories import NodeFactory, PartyFactory, ResidentFactory, RevisionFactory

pytestmark = pytest.mark.django_db

# User (the session comes from the cache), party, version (2 aggregates), contributors, status,
# preset, recent edits.
FULL_QUERIES = 8
# User, party, version (2 aggregates).
NOT_MODIFIED_QUERIES = 4


def stats_url(party) -> str:
    return reverse("mapping-api:party-stats", kwargs={"party_id": party.pk})


def populate(party) -> None:
    anna, ben = join_party(party, "Anna", True), join_party(party, "Ben", True)
    join_party(party, "Chloé", True)  # joined, no edit yet
    for _ in range(3):
        RevisionFactory(party=party, author=anna, preset="amenity/bench")
    RevisionFactory(party=party, author=ben, preset="emergency/defibrillator")
    accepted = RevisionFactory(party=party, author=ben, preset="")
    Revision.objects.filter(pk=accepted.pk).update(status="accepted", reviewed_at=timezone.now())
    # Another party of the same town: never counted here.
    RevisionFactory(party=PartyFactory(town=party.town), preset="amenity/bench")


def test_stats_content(agent_client, party, django_assert_num_queries):
    populate(party)
    with django_assert_num_queries(FULL_QUERIES):
        resp = agent_client.get(stats_url(party), HTTP_ACCEPT_LANGUAGE="fr")
    assert resp.status_code == 200
    data = resp.json()
    assert data["edits_total"] == 5
    assert [(c["nickname"], c["edits"]) for c in data["contributors"]] == [
        ("Anna", 3),
        ("Ben", 2),
        ("Chloé", 0),
    ]
    assert data["by_status"] == {
        "pending": 4,
        "accepted": 1,
        "rejected": 0,
        "needs_changes": 0,
        "withdrawn": 0,
    }
    assert data["by_preset"] == [
        {"preset": "amenity/bench", "name": "Banc", "count": 3},
        {"preset": "", "name": "", "count": 1},
        {"preset": "emergency/defibrillator", "name": data["by_preset"][2]["name"], "count": 1},
    ]
    recent = data["recent"]
    assert recent["type"] == "FeatureCollection" and len(recent["features"]) == 5
    first = recent["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [9.5209, 47.141]}
    assert first["properties"]["author"] in {"Anna", "Ben"} and first["properties"]["status"] in {
        "pending",
        "accepted",
    }


def test_query_count_does_not_grow_with_edits(agent_client, party, django_assert_num_queries):
    populate(party)
    for _ in range(20):
        RevisionFactory(party=party, preset="amenity/waste_basket")
    with django_assert_num_queries(FULL_QUERIES):
        assert agent_client.get(stats_url(party)).status_code == 200


def test_deleted_features_show_where_they_were(agent_client, party):
    resident = ResidentFactory(party=party)
    RevisionFactory.delete(NodeFactory(town=party.town), party=party, author=resident)
    (feature,) = agent_client.get(stats_url(party)).json()["recent"]["features"]
    assert feature["properties"]["action"] == "delete"
    assert feature["geometry"]["type"] == "Point"


def test_etag_answers_304_until_something_changes(agent_client, party, django_assert_num_queries):
    populate(party)
    first = agent_client.get(stats_url(party))
    etag = first["ETag"]
    assert etag and first["Cache-Control"] == "private, no-cache"
    with django_assert_num_queries(NOT_MODIFIED_QUERIES):
        again = agent_client.get(stats_url(party), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again.content == b""
    # A new edit changes the ETag...
    RevisionFactory(party=party, author=ResidentFactory(party=party))
    changed = agent_client.get(stats_url(party), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    # ...so does a review decision, and a resident joining.
    etag = changed["ETag"]
    pending = Revision.objects.filter(party=party, status="pending").first()
    Revision.objects.filter(pk=pending.pk).update(status="rejected", reviewed_at=timezone.now())
    reviewed = agent_client.get(stats_url(party), HTTP_IF_NONE_MATCH=etag)
    assert reviewed.status_code == 200
    join_party(party, "Dora", True)
    joined = agent_client.get(stats_url(party), HTTP_IF_NONE_MATCH=reviewed["ETag"])
    assert joined.status_code == 200
    # A resident's undo changes the status alone (no review time): the ETag changes too.
    Revision.objects.filter(pk=Revision.objects.filter(party=party, status="pending").first().pk).update(
        status="withdrawn"
    )
    withdrawn = agent_client.get(stats_url(party), HTTP_IF_NONE_MATCH=joined["ETag"])
    assert withdrawn.status_code == 200 and withdrawn.json()["by_status"]["withdrawn"] == 1


def test_etag_depends_on_the_language(agent_client, party):
    en = agent_client.get(stats_url(party), HTTP_ACCEPT_LANGUAGE="en")["ETag"]
    fr = agent_client.get(stats_url(party), HTTP_ACCEPT_LANGUAGE="fr")
    assert fr["ETag"] != en
    assert (
        agent_client.get(stats_url(party), HTTP_ACCEPT_LANGUAGE="fr", HTTP_IF_NONE_MATCH=en).status_code
        == 200
    )


def test_empty_party(agent_client, party):
    data = agent_client.get(stats_url(party)).json()
    assert data["edits_total"] == 0 and data["contributors"] == [] and data["by_preset"] == []
    assert data["recent"] == {"type": "FeatureCollection", "features": []}


def test_dashboard_page_has_the_live_parts(agent_client, party):
    page = agent_client.get(reverse("parties:dashboard", kwargs={"party_id": party.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    assert stats_url(party) in html and 'id="dash-map"' in html and 'id="party-area"' in html
    assert "Nobody has joined yet" in html
    assert "<script>" not in html  # no inline script: data comes in json_script / data-* attributes

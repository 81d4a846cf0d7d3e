"""One gate for every write (mapping.gate): each rule on each path that changes map data.

The paths: a resident's edit through the API, an amendment after "changes requested", an agent's
fix, a single and a bulk accept, a revert. The upstream merge and the importer are in
tests/exports/test_upstream_gate.py. The party area of the factories is the centre of Vaduz
(9.515-9.530 E, 47.135-47.145 N); "far" is about 3 km east of it.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import LineString, Point
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from mapping import gate
from mapping.models import Node, Relation, ReviewDecision, Revision, Way
from mapping.store import apply_change, element_state, next_local_id
from review import services as review
from tests.factories import AgentFactory, NodeFactory, ResidentFactory, RevisionFactory, publish

pytestmark = pytest.mark.django_db
Status = Revision.Status

FAR = (9.5560, 47.1550)  # ~3 km from the area, across the valley
INSIDE = (9.5209, 47.1410)


@pytest.fixture(autouse=True)
def _english():
    """Messages in English unless a request asks otherwise (a French request leaves French active)."""
    with translation.override("en"):
        yield


def point(lon: float, lat: float, **tags: str) -> dict:
    return {"tags": tags or {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def road(town, coords, shared: Node | None = None, at: int = 0) -> Way:
    """A published road of new vertices, with ``shared`` as its vertex number ``at`` when given."""
    nodes = [[None, x, y] for x, y in coords]
    if shared is not None:
        nodes[at] = [shared.osm_id, shared.geom.x, shared.geom.y]
    return publish(town, "way", {"tags": {"highway": "residential"}, "nodes": nodes})


@pytest.fixture
def far_junction(party):
    """A node 3 km outside the area where two roads meet."""
    junction = NodeFactory(town=party.town, tags={}, geom=Point(*FAR, srid=4326))
    road(party.town, [FAR, (9.5600, 47.1560)], junction, 0)
    road(party.town, [FAR, (9.5560, 47.1600)], junction, 0)
    return junction


def attack_way(junction: Node) -> dict:
    """A new footway inside the area whose first vertex is the far junction, given new coordinates."""
    return {
        "tags": {"highway": "footway"},
        "nodes": [[junction.osm_id, 9.5200, 47.1400], [None, 9.5205, 47.1402], [None, 9.5210, 47.1401]],
    }


def missing_member_multipolygon() -> dict:
    return {
        "tags": {"type": "multipolygon", "landuse": "grass"},
        "members": [{"type": "way", "ref": 987_654_321, "role": "outer"}],
    }


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def submit(party, resident, body: dict, lang: str = "en"):
    return api(resident).post(
        f"/api/parties/{party.pk}/edits/", body, format="json", HTTP_ACCEPT_LANGUAGE=lang
    )


def messages(response) -> str:
    return " ".join(m for ms in response.json().values() for m in ms)


def junction_and_roads_unchanged(junction: Node) -> None:
    junction.refresh_from_db()
    assert (junction.geom.x, junction.geom.y) == FAR and junction.version == 1
    for way in Way.objects.filter(town=junction.town, nodes__contains=[junction.osm_id]):
        assert way.geom.coords[0] == FAR


# --- The rules, directly --------------------------------------------------------------------------


def codes(town, *changes: gate.Change, **kwargs) -> list[set[str]]:
    return [{i.code for i in issues} for issues in gate.check_changes(town.pk, changes, **kwargs)]


def test_rules_on_points(party):
    area = party.area
    assert codes(party.town, gate.Change("node", "create", None, point(*INSIDE), area)) == [set()]
    assert codes(party.town, gate.Change("node", "create", None, point(*FAR), area)) == [{"added_out"}]
    far_state = {**point(*FAR), "version": 1}
    inside_state = {**point(*INSIDE), "version": 1}
    assert codes(party.town, gate.Change("node", "modify", far_state, point(*INSIDE), area)) == [{"moved_in"}]
    assert codes(party.town, gate.Change("node", "modify", inside_state, point(*FAR), area)) == [
        {"moved_out"}
    ]
    retagged = point(*FAR, amenity="cafe")
    assert codes(party.town, gate.Change("node", "modify", far_state, retagged, area)) == [{"outside_area"}]
    assert codes(party.town, gate.Change("node", "delete", far_state, None, area)) == [{"outside_area"}]
    # Without a party (revert, upstream): the town's rules only.
    assert codes(party.town, gate.Change("node", "modify", far_state, point(*INSIDE))) == [set()]


def test_rules_on_ways(party, far_junction):
    area, town = party.area, party.town
    assert codes(town, gate.Change("way", "create", None, attack_way(far_junction), area)) == [
        {"moves_other"}
    ]
    # Even without a party: a way moves only its own points.
    assert codes(town, gate.Change("way", "create", None, attack_way(far_junction))) == [{"moves_other"}]
    # Connecting to the far junction without moving it: that point is outside the area.
    connected = attack_way(far_junction)
    connected["nodes"][0] = [far_junction.osm_id, *FAR]
    assert codes(town, gate.Change("way", "create", None, connected, area)) == [{"added_out"}]
    missing = attack_way(far_junction)
    missing["nodes"][0] = [123_456_789, 9.52, 47.14]
    assert codes(town, gate.Change("way", "create", None, missing, area)) == [{"unknown_node"}]
    inside = {"tags": {"highway": "footway"}, "nodes": [[None, 9.520, 47.140], [None, 9.521, 47.141]]}
    assert codes(town, gate.Change("way", "create", None, inside, area)) == [set()]


def test_rules_on_relations(party):
    town, area = party.town, party.area
    assert codes(town, gate.Change("relation", "create", None, missing_member_multipolygon(), area)) == [
        {"unknown_member"}
    ]
    outer = road(town, [(9.520, 47.140), (9.521, 47.141), (9.522, 47.140)])
    good = {"tags": {"type": "route"}, "members": [{"type": "way", "ref": outer.osm_id, "role": ""}]}
    far = road(town, [FAR, (9.5600, 47.1560)])
    bad = {"tags": {"type": "route"}, "members": [{"type": "way", "ref": far.osm_id, "role": ""}]}
    assert codes(town, gate.Change("relation", "create", None, good, area)) == [set()]
    assert codes(town, gate.Change("relation", "create", None, bad, area)) == [{"member_out"}]
    # A way created earlier in the same batch counts as existing.
    pending = missing_member_multipolygon()
    assert codes(
        town, gate.Change("relation", "create", None, pending, area), created=[("way", 987_654_321)]
    ) == [set()]


def test_one_query_for_many_changes(party, far_junction, django_assert_num_queries):
    changes = [gate.Change("way", "create", None, attack_way(far_junction), party.area) for _ in range(30)]
    changes += [gate.Change("relation", "create", None, missing_member_multipolygon(), party.area)] * 30
    with django_assert_num_queries(1):
        results = gate.check_changes(party.town.pk, changes)
    assert all(results)


def test_deleting_what_others_use_is_refused_on_every_path(party, resident, agent):
    """A vertex of a road, or the outer way of a multipolygon: as OSM's API, the gate says no."""
    town = party.town
    outer = road(town, [(9.520, 47.140), (9.521, 47.141), (9.522, 47.140)])
    publish(
        town,
        "relation",
        {"tags": {"type": "route"}, "members": [{"type": "way", "ref": outer.osm_id, "role": ""}]},
    )
    vertex = Node.objects.get(town=town, osm_id=outer.nodes[1])
    body = {
        "element_type": "way",
        "action": "delete",
        "element_id": outer.osm_id,
        "base_version": outer.version,
    }
    response = submit(party, resident, body)
    assert response.status_code == 400
    assert response.json() == {
        "geometry": ["Other features still use this one: change or delete them first."]
    }
    body = {"element_type": "node", "action": "delete", "element_id": vertex.osm_id, "base_version": 1}
    assert submit(party, resident, body).status_code == 400
    # A deletion stored before the gate is refused on accept and in bulk, and the way stays.
    single = RevisionFactory.delete(outer, party=party, author=resident)
    with pytest.raises(review.ReviewError, match="still use this one"):
        review.accept_revision(single, agent)
    result = review.bulk_accept(town, agent, party=party)
    assert result.conflicts == {single.pk: "Other features still use this one: change or delete them first."}
    assert Way.objects.get(pk=outer.pk).visible


# --- Resident edit through the API ------------------------------------------------------------------


def test_api_refuses_the_far_node_attack_in_plain_french(party, resident, far_junction):
    body = {"element_type": "way", "action": "create", "after": attack_way(far_junction)}
    response = submit(party, resident, body, lang="fr")
    assert response.status_code == 400
    text = messages(response)
    assert text == "Ce changement déplace un point d’un autre élément : modifiez plutôt cet élément."
    assert str(far_junction.osm_id) not in text and "9.5" not in text
    assert not Revision.objects.filter(party=party).exists()
    junction_and_roads_unchanged(far_junction)


def test_api_refuses_moving_a_far_poi_into_the_area(party, resident):
    poi = NodeFactory(town=party.town, tags={"amenity": "cafe"}, geom=Point(*FAR, srid=4326))
    body = {
        "element_type": "node",
        "action": "modify",
        "element_id": poi.osm_id,
        "base_version": poi.version,
        "after": point(*INSIDE, amenity="cafe"),
    }
    response = submit(party, resident, body)
    assert response.status_code == 400
    assert messages(response) == "This change moves a point that lies outside the party area."
    assert not Revision.objects.filter(party=party).exists()


def test_api_refuses_a_relation_with_missing_members(party, resident):
    body = {"element_type": "relation", "action": "create", "after": missing_member_multipolygon()}
    response = submit(party, resident, body)
    assert response.status_code == 400
    assert response.json() == {"members": ["A member of this relation no longer exists: reload the map."]}


def test_api_refuses_moving_a_point_out(party, resident):
    bench = NodeFactory(town=party.town, tags={"amenity": "bench"}, geom=Point(*INSIDE, srid=4326))
    body = {
        "element_type": "node",
        "action": "modify",
        "element_id": bench.osm_id,
        "base_version": 1,
        "after": point(0, 0),
    }
    response = submit(party, resident, body, lang="fr")
    assert response.status_code == 400
    assert messages(response) == "Ce changement déplace un point en dehors de la zone de la cartopartie."


# --- Amend ------------------------------------------------------------------------------------------


def sent_back(party, resident, agent, after: dict | None = None) -> Revision:
    rev = RevisionFactory(party=party, author=resident, after=after or point(*INSIDE))
    review.request_changes(rev, agent, "Where exactly?")
    return rev


def test_amend_refuses_a_bench_at_0_0(party, resident, agent):
    rev = sent_back(party, resident, agent)
    response = api(resident).post(
        f"/api/review/revisions/{rev.pk}/amend/", {"after": point(0, 0)}, format="json"
    )
    assert response.status_code == 400
    assert "outside the party area" in response.json()["detail"]
    rev.refresh_from_db()
    assert rev.status == Status.NEEDS_CHANGES and Revision.objects.filter(party=party).count() == 1


def test_amend_refuses_the_far_node_attack_and_missing_members(party, resident, agent, far_junction):
    way_rev = RevisionFactory(
        party=party,
        author=resident,
        element_type="way",
        after={"tags": {"highway": "footway"}, "nodes": [[None, 9.520, 47.140], [None, 9.521, 47.141]]},
    )
    review.request_changes(way_rev, agent, "Connect it")
    with pytest.raises(review.ReviewError, match="another feature"):
        review.amend_revision(way_rev, resident, attack_way(far_junction))
    rel_rev = RevisionFactory(
        party=party,
        author=resident,
        element_type="relation",
        after={"tags": {"type": "multipolygon"}, "members": []},
    )
    review.request_changes(rel_rev, agent, "Members?")
    with pytest.raises(review.ReviewError, match="no longer exists"):
        review.amend_revision(rel_rev, resident, missing_member_multipolygon())
    junction_and_roads_unchanged(far_junction)


def test_amend_inside_the_area_still_works(party, resident, agent):
    rev = sent_back(party, resident, agent)
    new = review.amend_revision(rev, resident, point(9.5210, 47.1411))
    assert new.status == Status.PENDING and new.after["geometry"]["coordinates"] == [9.5210, 47.1411]


# --- Agent's fix, single accept -----------------------------------------------------------------------


def test_fix_obeys_the_same_rules(party, resident, agent, far_junction):
    rev = RevisionFactory(party=party, author=resident, element_type="way", after=attack_way(far_junction))
    with pytest.raises(review.ReviewError, match="another feature"):
        review.fix_and_accept(rev, agent, attack_way(far_junction))
    with pytest.raises(review.ReviewError, match="outside the party area"):
        review.fix_and_accept(RevisionFactory(party=party, author=resident), agent, point(*FAR))
    rel = RevisionFactory(
        party=party, author=resident, element_type="relation", after={"tags": {"type": "site"}, "members": []}
    )
    with pytest.raises(review.ReviewError, match="no longer exists"):
        review.fix_and_accept(rel, agent, missing_member_multipolygon())
    rev.refresh_from_db()
    assert rev.status == Status.PENDING
    junction_and_roads_unchanged(far_junction)
    assert not Relation.objects.filter(town=party.town).exists()
    ok = review.fix_and_accept(
        rev, agent, {"tags": {"highway": "footway"}, "nodes": attack_way(far_junction)["nodes"][1:]}
    )
    assert ok.decision == ReviewDecision.Decision.FIXED


def test_accept_refuses_a_revision_that_slipped_past_the_gate(party, resident, agent, far_junction):
    """A pending revision stored before the gate existed (or written by hand) is checked on accept too."""
    rev = RevisionFactory(party=party, author=resident, element_type="way", after=attack_way(far_junction))
    response = api(agent).post(f"/api/review/revisions/{rev.pk}/accept/", {}, format="json")
    assert response.status_code == 400
    assert "another feature" in response.json()["detail"]
    junction_and_roads_unchanged(far_junction)
    rel = RevisionFactory(
        party=party, author=resident, element_type="relation", after=missing_member_multipolygon()
    )
    with pytest.raises(review.ReviewError, match="no longer exists"):
        review.accept_revision(rel, agent)
    assert not Relation.objects.filter(town=party.town).exists()


def test_review_page_shows_the_reason_in_the_agents_language(client, party, resident, agent, far_junction):
    rev = RevisionFactory(party=party, author=resident, element_type="way", after=attack_way(far_junction))
    client.force_login(agent)
    page = client.post(
        reverse("review:review-decide", args=[rev.pk]),
        {"action": "accept"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert page.status_code == 200
    assert "Ce changement déplace un point d’un autre élément" in page.content.decode()
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING
    junction_and_roads_unchanged(far_junction)


# --- Bulk accept --------------------------------------------------------------------------------------


def test_bulk_accept_applies_the_rules_per_revision(party, resident, agent, far_junction):
    good = [
        RevisionFactory(party=party, author=resident, after=point(9.52 + i / 10_000, 47.14)) for i in range(3)
    ]
    attack = RevisionFactory(party=party, author=resident, element_type="way", after=attack_way(far_junction))
    zero = RevisionFactory(party=party, author=resident, after=point(0, 0))
    rel = RevisionFactory(
        party=party, author=resident, element_type="relation", after=missing_member_multipolygon()
    )
    poi = NodeFactory(town=party.town, tags={"amenity": "cafe"}, geom=Point(*FAR, srid=4326))
    moved_in = RevisionFactory(
        party=party,
        author=resident,
        element_id=poi.osm_id,
        action="modify",
        base_version=1,
        before=element_state(poi),
        after=point(*INSIDE, amenity="cafe"),
    )
    result = review.bulk_accept(party.town, agent, party=party)
    assert sorted(result.decided) == sorted(r.pk for r in good)
    assert set(result.conflicts) == {attack.pk, zero.pk, rel.pk, moved_in.pk}
    assert "another feature" in result.conflicts[attack.pk]
    assert result.conflicts[zero.pk] == "This change adds a point outside the party area."
    assert "no longer exists" in result.conflicts[rel.pk]
    assert "lies outside" in result.conflicts[moved_in.pk]
    junction_and_roads_unchanged(far_junction)
    poi.refresh_from_db()
    assert poi.geom.coords == FAR
    assert not Node.objects.filter(town=party.town, osm_id=zero.element_id).exists()


def test_bulk_gate_costs_the_same_for_many_revisions(party, agent, django_assert_max_num_queries):
    """The gate adds two queries to a bulk accept (the parties' areas, the references), whatever its size."""
    authors = [ResidentFactory(party=party) for _ in range(4)]

    def queries_for(n: int, capture) -> int:
        for i in range(n):
            RevisionFactory(party=party, author=authors[i % 4], after=point(9.52 + i / 100_000, 47.14))
        way = {"tags": {"highway": "footway"}, "nodes": [[None, 9.520, 47.140], [None, 9.521, 47.141]]}
        for i in range(n):
            RevisionFactory(party=party, author=authors[i % 4], element_type="way", after=way)
        with capture() as ctx:
            result = review.bulk_accept(party.town, agent, party=party)
        assert len(result.decided) == 2 * n and not result.conflicts
        return len(ctx.captured_queries)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert queries_for(3, lambda: CaptureQueriesContext(connection)) == queries_for(
        30, lambda: CaptureQueriesContext(connection)
    )


# --- Revert ------------------------------------------------------------------------------------------


def accepted(party, resident, agent, **fields) -> Revision:
    rev = RevisionFactory(party=party, author=resident, **fields)
    review.accept_revision(rev, agent)
    rev.refresh_from_db()
    return rev


def shared_vertex(party):
    """Two published roads inside the area that share their middle vertex."""
    town = party.town
    a = road(town, [(9.520, 47.140), (9.521, 47.141), (9.522, 47.140)])
    middle = Node.objects.get(town=town, osm_id=a.nodes[1])
    b = road(town, [(9.521, 47.142), (9.521, 47.141), (9.521, 47.139)], middle, 1)
    return a, b, middle


def test_revert_restores_the_points_shared_with_other_ways(party, resident, agent):
    a, b, middle = shared_vertex(party)
    b_before = Way.objects.get(pk=b.pk).geom.coords
    state = element_state(a)
    moved = {**state, "nodes": [state["nodes"][0], [middle.osm_id, 9.5215, 47.1415], state["nodes"][2]]}
    rev = accepted(
        party, resident, agent, element_type="way", element_id=a.osm_id, action="modify",
        base_version=a.version, before=state, after=moved,
    )  # fmt: skip
    assert Way.objects.get(pk=b.pk).geom.coords[1] == (9.5215, 47.1415)  # b was dragged along
    review.revert_revision(rev, AgentFactory(town=party.town))
    middle.refresh_from_db()
    assert middle.geom.coords == (9.521, 47.141)
    assert Way.objects.get(pk=b.pk).geom.coords == b_before


def test_revert_refuses_when_a_later_change_moved_a_point(party, resident, agent):
    a, b, middle = shared_vertex(party)
    state = element_state(a)
    retagged = {**state, "tags": {"highway": "residential", "name": "Städtle"}}
    rev = accepted(
        party, resident, agent, element_type="way", element_id=a.osm_id, action="modify",
        base_version=a.version, before=state, after=retagged,
    )  # fmt: skip
    b_state = element_state(Way.objects.get(pk=b.pk))
    b_moved = {
        **b_state,
        "nodes": [b_state["nodes"][0], [middle.osm_id, 9.5212, 47.1412], b_state["nodes"][2]],
    }
    accepted(
        party, ResidentFactory(party=party), agent, element_type="way", element_id=b.osm_id, action="modify",
        base_version=b.version, before=b_state, after=b_moved,
    )  # fmt: skip
    response = api(AgentFactory(town=party.town)).post(
        f"/api/review/revisions/{rev.pk}/revert/", {}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Une modification acceptée plus tard a déplacé un point de cet élément : annulez-la d’abord."
    )
    middle.refresh_from_db()
    assert middle.geom.coords == (9.5212, 47.1412)


def test_revert_refuses_to_restore_a_relation_whose_member_is_gone(party, resident, agent):
    town = party.town
    outer = road(town, [(9.520, 47.140), (9.521, 47.141), (9.522, 47.140)])
    relation = publish(
        town,
        "relation",
        {"tags": {"type": "route"}, "members": [{"type": "way", "ref": outer.osm_id, "role": ""}]},
    )
    state = element_state(relation)
    rev = accepted(
        party, resident, agent, element_type="relation", element_id=relation.osm_id, action="modify",
        base_version=relation.version, before=state, after={"tags": {"type": "route"}, "members": []},
    )  # fmt: skip
    apply_change(
        town=town,
        element_type="way",
        element_id=outer.osm_id,
        action="delete",
        after=None,
        base_version=outer.version,
    )
    with pytest.raises(
        review.ReviewError, match="cannot be reverted: a point or member it would restore was deleted since"
    ):
        review.revert_revision(rev, AgentFactory(town=town))
    assert Relation.objects.get(pk=relation.pk).members == []


def test_revert_can_undo_damage_outside_the_area(party, resident, agent):
    """A POI that reached the inside from far away (before the gate) can be put back by a revert."""
    poi = NodeFactory(town=party.town, tags={"amenity": "cafe"}, geom=Point(*FAR, srid=4326))
    rev = RevisionFactory(
        party=party, author=resident, element_id=poi.osm_id, action="modify", base_version=1,
        before=element_state(poi), after=point(*INSIDE, amenity="cafe"),
    )  # fmt: skip
    element = apply_change(
        town=party.town,
        element_type="node",
        element_id=poi.osm_id,
        action="modify",
        after=rev.after,
        base_version=1,
    )
    review._decide(
        rev, agent, Status.ACCEPTED, ReviewDecision.Decision.ACCEPTED, version_after=element.version
    )
    review.revert_revision(rev, agent)
    poi.refresh_from_db()
    assert poi.geom.coords == FAR


def test_revert_of_a_new_way_leaves_connected_points_where_they_are(party, resident, agent):
    """A new way connected to an existing point does not move it; reverting deletes the way only."""
    a, _b, middle = shared_vertex(party)
    after = {"tags": {"highway": "footway"}, "nodes": [[middle.osm_id, 9.521, 47.141], [None, 9.523, 47.143]]}
    rev = accepted(party, resident, agent, element_type="way", element_id=next_local_id(), after=after)
    review.revert_revision(rev, agent)
    middle.refresh_from_db()
    assert middle.visible and middle.geom.coords == (9.521, 47.141)
    assert not Way.objects.get(town=party.town, osm_id=rev.element_id).visible
    assert Way.objects.get(pk=a.pk).visible
    assert LineString(Way.objects.get(pk=a.pk).geom.coords).coords[1] == (9.521, 47.141)

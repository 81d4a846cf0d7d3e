"""Connected geometry on the demo town's real roads: a footpath snapped to a road (a node id shared, a
new node inserted into the road), a crossing placed on the road; every write path (submit, amend,
fix-then-accept, accept, bulk accept, revert), the osmChange, stale bases and hostile joins."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from exports.services import build_export
from mapping.connectivity import project
from mapping.models import Node, Revision, Way
from mapping.store import Conflict, apply_change, element_state
from review.services import (
    ReviewError,
    accept_revision,
    amend_revision,
    bulk_accept,
    fix_and_accept,
    request_changes,
    revert_revision,
)
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(centre_town):
    return centre_town


@pytest.fixture
def cast(town):
    party = PartyFactory(town=town)
    return party, ResidentFactory(party=party), AgentFactory(town=town)


def road(town, name: str = "Postgass") -> tuple[Way, list[tuple[int, float, float]]]:
    way = Way.objects.get(town=town, tags__name=name, tags__highway="residential")
    return way, [tuple(n) for n in element_state(way)["nodes"]]


def midpoint(a, b) -> list[float]:
    return [round((a[1] + b[1]) / 2, 7), round((a[2] + b[2]) / 2, 7)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def submit(party, user, body: dict):
    return client_for(user).post(
        reverse("mapping-api:party-edits", kwargs={"party_id": party.pk}), body, format="json"
    )


def footpath(way: Way, nodes) -> dict:
    """A footway from Postgass's middle node (that node's id reused) to 13 m south of the road, then
    back onto its first segment (a join: a new node inserted into the road). It crosses nothing."""
    mid = midpoint(nodes[0], nodes[1])
    return {
        "element_type": "way",
        "action": "create",
        "preset": "highway/footway",
        "after": {
            "tags": {"highway": "footway"},
            "nodes": [
                [nodes[1][0], nodes[1][1], nodes[1][2]],
                [None, mid[0], mid[1] - 0.00012],
                [None, *mid],
            ],
            "closed": False,
            "joins": [{"way": way.osm_id, "base_version": way.version, "segment": 0, "vertex": 2}],
        },
    }


def crossing(way: Way, nodes, segment: int = 1) -> dict:
    lon, lat = midpoint(nodes[segment], nodes[segment + 1])
    return {
        "element_type": "node",
        "action": "create",
        "preset": "highway/crossing",
        "after": {
            "tags": {"highway": "crossing", "crossing": "marked"},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "joins": [{"way": way.osm_id, "base_version": way.version, "segment": segment}],
        },
    }


def test_footpath_and_crossing_join_the_road_when_accepted(town, cast, tmp_path):
    party, resident, agent = cast
    way, nodes = road(town)
    version = way.version
    check = reverse("mapping-api:party-edit-check", kwargs={"party_id": party.pk})
    assert client_for(resident).post(check, footpath(way, nodes), format="json").json() == {"warnings": []}
    resp = submit(party, resident, footpath(way, nodes))
    assert resp.status_code == 201, resp.json()
    path_rev = Revision.objects.get(pk=resp.json()["id"])
    assert path_rev.after["joins"][0]["before"]["nodes"] == [list(n) for n in nodes]  # recorded
    resp = submit(party, resident, crossing(way, nodes))
    assert resp.status_code == 201, resp.json()
    crossing_rev = Revision.objects.get(pk=resp.json()["id"])
    assert Way.objects.get(pk=way.pk).version == version  # pending: nothing published

    accept_revision(path_rev, agent)
    accept_revision(crossing_rev, agent)  # the road changed since: its segment is still there

    path = Way.objects.get(town=town, osm_id=path_rev.element_id)
    after = Way.objects.get(pk=way.pk)
    assert after.version == version + 2
    shared, junction = path.nodes[0], path.nodes[2]
    assert shared == nodes[1][0]  # the snapped vertex reuses the road's node
    assert after.nodes == [
        nodes[0][0],
        junction,
        nodes[1][0],
        crossing_rev.element_id,
        *[n[0] for n in nodes[2:]],
    ]
    assert Node.objects.get(town=town, osm_id=crossing_rev.element_id).tags["highway"] == "crossing"
    assert after.geom.num_points == len(nodes) + 2

    osc = tmp_path / "c.osc"
    build_export(town, "osc", osc)
    text = osc.read_text()
    assert text.count(f'<way id="{way.osm_id}"') == 1  # one modify of the road, with both junctions
    modify = text[text.index("<modify>") : text.index("</modify>")]
    assert f'<way id="{way.osm_id}" version="{version}"' in modify  # from the version it had
    assert f'<nd ref="{crossing_rev.element_id}"/>' in modify and f'<nd ref="{junction}"/>' in modify

    # Revert the crossing, then the path: the road loses exactly what each added.
    revert_revision(crossing_rev, agent)
    assert Way.objects.get(pk=way.pk).nodes == [nodes[0][0], junction, *[n[0] for n in nodes[1:]]]
    assert not Node.objects.get(town=town, osm_id=crossing_rev.element_id).visible
    revert_revision(path_rev, agent)
    restored = Way.objects.get(pk=way.pk)
    assert restored.nodes == [n[0] for n in nodes]
    assert not Node.objects.get(town=town, osm_id=junction).visible  # an orphan of the path
    assert Node.objects.get(town=town, osm_id=shared).visible  # the road's own node stays


def test_two_pending_junctions_on_one_segment_go_in_order_along_it(town, cast):
    """Both made from the same version: the second accept finds the segment again, the first
    junction inside it, and puts its own point before it (it lies nearer the segment's start)."""
    party, resident, agent = cast
    way, nodes = road(town)
    body = crossing(way, nodes, segment=0)
    a, b = nodes[0], nodes[1]
    body["after"]["geometry"]["coordinates"] = [
        round(a[1] + (b[1] - a[1]) / 4, 7),
        round(a[2] + (b[2] - a[2]) / 4, 7),
    ]
    first = Revision.objects.get(pk=submit(party, resident, footpath(way, nodes)).json()["id"])
    second = Revision.objects.get(pk=submit(party, resident, body).json()["id"])
    accept_revision(first, agent)
    accept_revision(second, agent)
    junction = Way.objects.get(town=town, osm_id=first.element_id).nodes[2]
    after = Way.objects.get(pk=way.pk)
    assert after.nodes[:4] == [a[0], second.element_id, junction, b[0]]
    assert after.version == way.version + 2


def test_stale_base_is_409_at_submit_and_at_accept_when_the_segment_moved(town, cast):
    party, resident, agent = cast
    way, nodes = road(town)
    stale = crossing(way, nodes, segment=0)
    stale["after"]["joins"][0]["base_version"] = way.version - 1
    assert submit(party, resident, stale).status_code == 409

    rev = Revision.objects.get(pk=submit(party, resident, crossing(way, nodes, segment=0)).json()["id"])
    # Someone moves the segment's first node meanwhile (the road is reshaped there).
    state = element_state(way)
    state["nodes"][0] = [nodes[0][0], nodes[0][1] + 0.00002, nodes[0][2]]
    apply_change(
        town=town,
        element_type="way",
        element_id=way.osm_id,
        action="modify",
        after=state,
        base_version=way.version,
    )
    with pytest.raises(Conflict):
        accept_revision(rev, agent)
    assert Revision.objects.get(pk=rev.pk).status == Revision.Status.PENDING
    assert not Node.objects.filter(town=town, osm_id=rev.element_id).exists()  # nothing applied


def test_bulk_accept_applies_joins(town, cast):
    party, resident, agent = cast
    way, nodes = road(town)
    ids = [
        submit(party, resident, body).json()["id"] for body in (footpath(way, nodes), crossing(way, nodes))
    ]
    result = bulk_accept(town, agent, ids=ids)
    assert result.decided == sorted(ids), result.as_dict()
    assert len(Way.objects.get(pk=way.pk).nodes) == len(nodes) + 2


def test_amend_and_fix_bind_joins_again(town, cast):
    party, resident, agent = cast
    way, nodes = road(town)
    body = footpath(way, nodes)
    rev = Revision.objects.get(pk=submit(party, resident, body).json()["id"])
    request_changes(rev, agent, "Name it")
    sneaky = {**body["after"], "tags": {"highway": "footway", "name": "Weg"}}
    sneaky["joins"] = [{**sneaky["joins"][0], "before": {"nodes": [], "version": 1}}]  # a forged record
    new = amend_revision(rev, resident, sneaky)
    assert new.after["joins"][0]["before"]["nodes"] == [list(n) for n in nodes]  # the server's
    far = {**body["after"], "nodes": [[None, 9.5222, 47.1385], [None, 9.5222, 47.1386]]}
    far["joins"] = [{**body["after"]["joins"][0], "vertex": 1}]  # a new vertex, far from the road
    with pytest.raises(ReviewError):
        fix_and_accept(new, agent, far)  # the vertex is not on the road's segment
    fix_and_accept(new, agent, sneaky)
    assert len(Way.objects.get(pk=way.pk).nodes) == len(nodes) + 1


@pytest.mark.parametrize(
    "change, status",
    [
        ({"way": 10**15}, 400),  # no such way
        ({"way": True}, 400),
        ({"segment": 99}, 400),  # out of range
        ({"segment": -1}, 400),
        ({"segment": "0"}, 400),
        ({"vertex": 1}, 400),  # the vertex is not on the road
        ({"vertex": 0}, 400),  # an existing node cannot be inserted
        ({"vertex": 7}, 400),
        ({"base_version": 0}, 400),
        ({"extra": 1}, 400),
    ],
)
def test_hostile_joins_are_400_and_change_nothing(town, cast, change, status):
    party, resident, _agent = cast
    way, nodes = road(town)
    body = footpath(way, nodes)
    body["after"]["joins"][0].update(change)
    before = Revision.objects.count()
    resp = submit(party, resident, body)
    assert resp.status_code == status, resp.json()
    assert "joins" in resp.json() or "geometry" in resp.json()
    assert Revision.objects.count() == before


def test_other_towns_way_and_ways_outside_the_area_are_refused(town, cast):
    party, resident, _agent = cast
    other = PartyFactory()  # another town, same place
    foreign = Way.objects.create(
        town=other.town, osm_id=-999, version=1, tags={"highway": "service"}, nodes=[1, 2]
    )
    way, nodes = road(town)
    body = crossing(way, nodes)
    body["after"]["joins"][0]["way"] = foreign.osm_id
    assert submit(party, resident, body).status_code == 400
    # A road of the town outside the party area: its points are outside it too.
    small = PartyFactory(town=town, area=party.area.buffer(-0.0074))
    outsider = ResidentFactory(party=small)
    assert submit(small, outsider, crossing(way, nodes)).status_code == 400
    assert not Revision.objects.filter(author=outsider).exists()


def test_a_way_list_of_joins_is_refused_on_relations_and_lists_too_long(town, cast):
    party, resident, _agent = cast
    way, nodes = road(town)
    body = footpath(way, nodes)
    body["after"]["joins"] = body["after"]["joins"] * 101
    assert submit(party, resident, body).status_code == 400
    body["after"]["joins"] = "x"
    assert submit(party, resident, body).status_code == 400


def test_check_api_warns_and_its_fix_connects(town, cast):
    party, resident, _agent = cast
    way, nodes = road(town)
    mid = midpoint(nodes[0], nodes[1])
    near = project((mid[0], mid[1] - 0.00003), tuple(nodes[0][1:]), tuple(nodes[1][1:]))
    body = {
        "element_type": "way",
        "action": "create",
        "after": {
            "tags": {"highway": "footway"},
            "nodes": [[None, mid[0], mid[1] - 0.0004], [None, mid[0], mid[1] - 0.00003]],
            "closed": False,
        },
    }
    url = reverse("mapping-api:party-edit-check", kwargs={"party_id": party.pk})
    resp = client_for(resident).post(url, body, format="json")
    assert resp.status_code == 200
    (warning,) = resp.json()["warnings"]
    assert warning["code"] == "almost_junction" and warning["fix"]["label"]
    assert near[1] < 5
    fixed = {**body, "after": warning["fix"]["after"]}
    assert client_for(resident).post(url, fixed, format="json").json()["warnings"] == []
    resp = submit(party, resident, fixed)
    assert resp.status_code == 201, resp.json()

    far = {
        **body,
        "after": {
            **body["after"],
            "nodes": [[None, mid[0], mid[1] - 0.0004], [None, mid[0], mid[1] - 0.0002]],
        },
    }
    (warning,) = client_for(resident).post(url, far, format="json").json()["warnings"]
    assert warning["code"] == "disconnected"
    across = {
        **body,
        "after": {
            **body["after"],
            "nodes": [[None, mid[0], mid[1] - 0.0003], [None, mid[0] + 0.00001, mid[1] + 0.0003]],
        },
    }
    (warning,) = client_for(resident).post(url, across, format="json").json()["warnings"]
    assert warning["code"] == "crossing"
    fixed = warning["fix"]["after"]
    assert len(fixed["nodes"]) == 3 and fixed["joins"][0]["vertex"] == 1
    assert client_for(resident).post(url, {**body, "after": fixed}, format="json").json()["warnings"] == []


def test_snap_api_gives_ways_with_node_ids(town, cast):
    party, resident, _agent = cast
    way, nodes = road(town)
    url = reverse("mapping-api:party-snap", kwargs={"party_id": party.pk})
    resp = client_for(resident).get(url, {"bbox": "9.520,47.138,9.523,47.140"})
    assert resp.status_code == 200
    found = {w["id"]: w for w in resp.json()["ways"]}
    assert found[way.osm_id]["nodes"] == [list(n) for n in nodes]
    assert found[way.osm_id]["version"] == way.version
    assert client_for(resident).get(url, {"bbox": "9.4,47.0,9.6,47.2"}).status_code == 400
    assert client_for(resident).get(url, {"bbox": "x"}).status_code == 400


def test_an_agents_fix_keeps_the_recorded_join_when_the_road_changed_since(town, cast):
    """The footpath waits while a crossing on the same road is accepted; the agent then fixes the
    footpath's tags: its junction, sent back unchanged, keeps its record and still goes in."""
    party, resident, agent = cast
    way, nodes = road(town)
    path = Revision.objects.get(pk=submit(party, resident, footpath(way, nodes)).json()["id"])
    other = Revision.objects.get(pk=submit(party, resident, crossing(way, nodes)).json()["id"])
    accept_revision(other, agent)
    fixed = {**path.after, "tags": {"highway": "footway", "surface": "gravel"}}
    fix_and_accept(path, agent, fixed)
    after = Way.objects.get(pk=way.pk)
    assert after.version == way.version + 2
    assert Way.objects.get(town=town, osm_id=path.element_id).nodes[2] in after.nodes


def test_the_review_page_lists_the_joined_road_and_shows_the_residents_warnings(town, cast, client):
    party, resident, agent = cast
    way, nodes = road(town)
    joined = Revision.objects.get(pk=submit(party, resident, footpath(way, nodes)).json()["id"])
    mid = midpoint(nodes[0], nodes[1])
    lonely = {
        "element_type": "way",
        "action": "create",
        "after": {
            "tags": {"highway": "footway"},
            "nodes": [[None, mid[0], mid[1] - 0.0004], [None, mid[0], mid[1] - 0.0002]],
            "closed": False,
        },
    }
    alone = Revision.objects.get(pk=submit(party, resident, lonely).json()["id"])
    client.force_login(agent)
    page = client.get(reverse("review:review-revision", args=[joined.pk])).content.decode()
    assert f'data-way="{way.osm_id}"' in page and "Postgass" in page
    assert 'data-code="disconnected"' not in page
    page = client.get(
        reverse("review:review-revision", args=[alone.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert 'data-code="disconnected"' in page and "n’est relié à aucun autre" in page


def test_the_roads_history_shows_the_junctions_added_to_it(town, cast, client):
    party, resident, agent = cast
    way, nodes = road(town)
    path = Revision.objects.get(pk=submit(party, resident, footpath(way, nodes)).json()["id"])
    accept_revision(path, agent)
    url = reverse(
        "mapping:element-history", kwargs={"slug": town.slug, "element_type": "way", "element_id": way.osm_id}
    )
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-joined="{path.element_id}"' in page and "A junction point added by another feature" in page

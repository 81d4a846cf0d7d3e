"""apply_change: OSM identity kept, versions bumped, derived geometry rebuilt, conflicts detected."""

from __future__ import annotations

import pytest

from mapping.models import Node, Way
from mapping.store import Conflict, StoreError, apply_change, next_local_id

pytestmark = pytest.mark.django_db


def test_create_node_gets_negative_id_and_version_1(centre_town):
    nid = next_local_id()
    node = apply_change(
        town=centre_town, element_type="node", element_id=nid, action="create", base_version=None,
        after={"tags": {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [9.52, 47.14]}},
    )  # fmt: skip
    assert nid < 0 and node.version == 1 and node.tags == {"amenity": "bench"}


def test_modify_with_outdated_version_conflicts(centre_town):
    node = Node.objects.filter(town=centre_town).exclude(tags={}).first()
    after = {
        "tags": {**node.tags, "note": "x"},
        "geometry": {"type": "Point", "coordinates": [node.geom.x, node.geom.y]},
    }
    apply_change(
        town=centre_town,
        element_type="node",
        element_id=node.osm_id,
        action="modify",
        after=after,
        base_version=node.version,
    )
    with pytest.raises(Conflict) as exc:
        apply_change(
            town=centre_town,
            element_type="node",
            element_id=node.osm_id,
            action="modify",
            after=after,
            base_version=node.version,
        )
    assert exc.value.current_version == node.version + 1


def test_reshape_way_keeps_existing_nodes_and_rebuilds_geometry(centre_town):
    way = Way.objects.filter(town=centre_town, tags__highway="residential", geom_status="ok").first()
    first = Node.objects.get(town=centre_town, osm_id=way.nodes[0])
    first_version = first.version
    nodes = [[ref, *Node.objects.get(town=centre_town, osm_id=ref).geom.coords] for ref in way.nodes]
    nodes[0] = [first.osm_id, first.geom.x + 0.0001, first.geom.y]  # move the first vertex
    nodes.append([None, nodes[-1][1] + 0.0002, nodes[-1][2]])  # and extend with a new vertex
    updated = apply_change(
        town=centre_town, element_type="way", element_id=way.osm_id, action="modify",
        after={"tags": way.tags, "nodes": nodes, "closed": False}, base_version=way.version,
    )  # fmt: skip
    first.refresh_from_db()
    assert updated.nodes[:-1] == way.nodes and updated.nodes[-1] < 0
    assert first.version == first_version + 1  # the moved vertex is the same node, one version on
    assert updated.version == way.version + 1
    assert updated.geom.num_points == len(way.nodes) + 1
    assert updated.geom.coords[0][0] == pytest.approx(first.geom.x)


def test_deleting_a_node_used_by_a_way_is_refused(centre_town):
    way = Way.objects.filter(town=centre_town, visible=True).first()
    node = Node.objects.get(town=centre_town, osm_id=way.nodes[0])
    with pytest.raises(StoreError):
        apply_change(
            town=centre_town,
            element_type="node",
            element_id=node.osm_id,
            action="delete",
            after=None,
            base_version=node.version,
        )


def test_new_area_is_a_closed_polygon(centre_town):
    wid = next_local_id()
    ring = [
        [None, 9.5200, 47.1400],
        [None, 9.5202, 47.1400],
        [None, 9.5202, 47.1402],
        [None, 9.5200, 47.1402],
    ]
    way = apply_change(
        town=centre_town, element_type="way", element_id=wid, action="create", base_version=None,
        after={"tags": {"amenity": "parking"}, "nodes": ring, "closed": True},
    )  # fmt: skip
    assert way.nodes[0] == way.nodes[-1] and len(way.nodes) == 5
    assert way.geom.geom_type == "Polygon" and way.geom_status == "ok"


def test_a_town_with_elements_cannot_be_deleted(centre_town):
    """The store has no row-level foreign key (bulk imports, see mapping.models.Element): PROTECT guards it."""
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        centre_town.delete()
    assert Node.objects.filter(town=centre_town).exists()

"""The gate's reference rule on the agent-side paths without a party: the importer and the upstream merge.

A newer extract that deletes a node a way drawn here still uses must not hide it under that way (the
osmChange would then fail upstream): the node stays, and an agent chooses. Taking OpenStreetMap's
side (the deletion) is refused while a feature here uses it; keeping ours re-creates it as ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.models import Node, Relation, UpstreamConflict, Way
from mapping.osm_import import import_osm
from mapping.store import element_state
from mapping.upstream import MergeError, resolve_conflict
from tests.exports.conftest import accept
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db

NODES = {
    1: (9.5200, 47.1400, ""),
    2: (9.5210, 47.1400, ""),
    3: (9.5220, 47.1405, '<tag k="amenity" v="bench"/>'),
    4: (9.5230, 47.1410, ""),
}


def extract(path: Path, node_ids: list[int], version: int = 1) -> Path:
    nodes = "".join(
        f'<node id="{i}" version="{version}" lat="{NODES[i][1]}" lon="{NODES[i][0]}">{NODES[i][2]}</node>'
        for i in node_ids
    )
    way_nodes = "".join(f'<nd ref="{i}"/>' for i in (1, 2))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        f'{nodes}<way id="10" version="1">{way_nodes}<tag k="highway" v="residential"/></way></osm>'
    )
    return path


@pytest.fixture
def town_with_local_way(tmp_path):
    """A town of four nodes and a road; a footway drawn here connects nodes 4 and 3 (the bench)."""
    town = import_osm(extract(tmp_path / "v1.osm", [1, 2, 3, 4]), "gate-town", "Gate town").town
    party = PartyFactory(town=town)
    author = ResidentFactory(party=party)
    way = accept(
        town, party, author, "way", -900_000_001, "create",
        {"tags": {"highway": "footway"}, "nodes": [[4, 9.5230, 47.1410], [3, 9.5220, 47.1405]]},
    )  # fmt: skip
    return town, way


def test_import_keeps_a_node_deleted_upstream_that_a_local_way_uses(tmp_path, town_with_local_way):
    town, way = town_with_local_way
    import_osm(extract(tmp_path / "v2.osm", [1, 2, 3]), "gate-town")  # node 4 deleted upstream
    node = Node.objects.get(town=town, osm_id=4)
    assert node.visible, "the footway drawn here still uses it"
    conflict = UpstreamConflict.objects.get(town=town, element_type="node", element_id=4)
    assert conflict.kind == UpstreamConflict.Kind.DELETED_UPSTREAM
    assert Way.objects.get(pk=way.pk).geom is not None


def test_import_still_deletes_nodes_nobody_here_uses(tmp_path, town_with_local_way):
    town, way = town_with_local_way
    Way.objects.filter(pk=way.pk).update(visible=False)  # the footway was deleted here
    import_osm(extract(tmp_path / "v2.osm", [1, 2, 3]), "gate-town")
    assert not Node.objects.get(town=town, osm_id=4).visible
    assert not UpstreamConflict.objects.filter(town=town, element_id=4).exists()


def test_taking_the_upstream_deletion_is_refused_while_a_way_uses_the_node(tmp_path, town_with_local_way):
    town, way = town_with_local_way
    import_osm(extract(tmp_path / "v2.osm", [1, 2, 3]), "gate-town")
    conflict = UpstreamConflict.objects.get(town=town, element_type="node", element_id=4)
    agent = AgentFactory(town=town)
    with pytest.raises(MergeError, match="still use this element"):
        resolve_conflict(conflict, "upstream", agent)
    assert Node.objects.get(town=town, osm_id=4).visible
    resolve_conflict(conflict, "local", agent)  # ours: a new local node, the footway follows
    way.refresh_from_db()
    assert way.nodes[0] < 0 and Node.objects.get(town=town, osm_id=way.nodes[0]).visible


def test_merge_that_would_add_a_missing_member_waits_for_an_agent(tmp_path):
    """Our relation gained a member that is gone here; upstream changed its tags: not merged silently."""
    path = tmp_path / "r1.osm"
    relation = (
        '<relation id="20" version="{v}"><member type="node" ref="1" role=""/>'
        '<tag k="type" v="route"/>{extra}</relation>'
    )
    base = (
        '<?xml version="1.0"?><osm version="0.6"><node id="1" version="1" lat="47.14" lon="9.52"/>'
        '<node id="2" version="1" lat="47.141" lon="9.521"/>'
    )
    path.write_text(
        base
        + relation.format(v=1, extra="")
        + '<relation id="21" version="1"><member type="node" ref="1" role=""/><tag k="type" v="site"/></relation></osm>'
    )
    town = import_osm(path, "gate-rel", "Gate rel").town
    party = PartyFactory(town=town)
    author = ResidentFactory(party=party)
    rel = Relation.objects.get(town=town, osm_id=20)
    state = element_state(rel)
    accept(
        town, party, author, "relation", 20, "modify",
        {**state, "members": [*state["members"], {"type": "relation", "ref": 21, "role": ""}]},
    )  # fmt: skip
    newer = tmp_path / "r2.osm"
    newer.write_text(base + relation.format(v=2, extra='<tag k="name" v="Rundweg"/>') + "</osm>")
    import_osm(newer, "gate-rel")  # relation 21 deleted upstream, 20 retagged
    conflict = UpstreamConflict.objects.get(town=town, element_type="relation", element_id=20)
    assert conflict.keys == ["@shape"]
    assert "name" not in Relation.objects.get(town=town, osm_id=20).tags

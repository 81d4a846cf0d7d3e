"""Keeping in step with OSM: a newer extract merges into local changes, or asks an agent to choose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from exports.services import build_export
from mapping.models import Node, UpstreamConflict
from mapping.osm_import import import_osm
from mapping.store import element_state, next_local_id
from mapping.upstream import MergeError, merge_tags, resolve_conflict
from tests.conftest import CENTRE_PBF
from tests.exports.conftest import accept, osmium
from tests.exports.test_tools import normalised
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).parents[2] / "scripts" / "make_newer_extract.py"
SEED = 7


def test_three_way_tag_merge_is_key_by_key():
    base = {"amenity": "cafe", "name": "Rössle", "wifi": "no"}
    local = {"amenity": "cafe", "name": "Rössle", "wifi": "yes", "opening_hours": "Mo-Su 08:00-18:00"}
    upstream = {"amenity": "cafe", "name": "Café Rössle", "wifi": "no"}
    assert merge_tags(base, local, upstream) == (
        {"amenity": "cafe", "name": "Café Rössle", "opening_hours": "Mo-Su 08:00-18:00", "wifi": "yes"},
        [],
    )
    both = {**upstream, "wifi": "free"}
    assert merge_tags(base, local, both)[1] == ["wifi"]
    # A key deleted on one side and untouched on the other is deleted.
    assert merge_tags({"a": "1", "b": "2"}, {"a": "1"}, {"a": "1", "b": "2", "c": "3"})[0] == {
        "a": "1",
        "c": "3",
    }


def _free_tagged_nodes(town, modulo: int) -> list[Node]:
    """Tagged nodes no way or relation uses, whose id the script picks with ``id % modulo``."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT n.osm_id FROM mapping_node n WHERE n.town_id = %s AND n.osm_id > 0 AND n.tags <> '{}'
              AND n.osm_id %% %s = %s
              AND NOT EXISTS (SELECT 1 FROM mapping_way w WHERE w.town_id = n.town_id AND w.nodes @> ARRAY[n.osm_id])
              AND NOT EXISTS (SELECT 1 FROM mapping_relation r, jsonb_array_elements(r.members) m
                              WHERE r.town_id = n.town_id AND (m->>'ref')::bigint = n.osm_id)
            ORDER BY n.osm_id
            """,
            [town.pk, modulo, SEED % modulo],
        )
        return [Node.objects.get(town=town, osm_id=r[0]) for r in cur.fetchall()]


@pytest.fixture
def diverged(centre_town, tmp_path):
    """Local changes on elements the newer extract also changes, then the newer extract imported."""
    with connection.cursor() as cur:
        cur.execute("ANALYZE mapping_node, mapping_way, mapping_relation")
    party = PartyFactory(town=centre_town)
    author = ResidentFactory(party=party)
    modified = [n for n in _free_tagged_nodes(centre_town, 13) if n.osm_id % 17 != SEED % 17]
    merged_node, conflict_node = modified[0], modified[1]
    state = element_state(merged_node)
    accept(
        centre_town,
        party,
        author,
        "node",
        merged_node.osm_id,
        "modify",
        {**state, "tags": {**merged_node.tags, "opening_hours": "24/7"}},
    )
    state = element_state(conflict_node)
    accept(
        centre_town,
        party,
        author,
        "node",
        conflict_node.osm_id,
        "modify",
        {**state, "tags": {**conflict_node.tags, "check_date": "2025-01-01"}},
    )
    gone = [n for n in _free_tagged_nodes(centre_town, 17) if n.osm_id % 13 != SEED % 13][0]
    state = element_state(gone)
    accept(
        centre_town,
        party,
        author,
        "node",
        gone.osm_id,
        "modify",
        {**state, "tags": {**gone.tags, "note": "still here"}},
    )
    newer = tmp_path / "newer.osm"
    subprocess.run(
        [sys.executable, str(SCRIPT), str(CENTRE_PBF), str(newer), "--seed", str(SEED)],
        check=True,
        capture_output=True,
    )
    # A bench created here 1 m from where the newer extract adds one (first added: 2 m north of the
    # first tagged node of the file).
    first = Node.objects.filter(town=centre_town, osm_id__gt=0).exclude(tags={}).order_by("osm_id").first()
    bench_id = next_local_id()
    accept(
        centre_town,
        party,
        author,
        "node",
        bench_id,
        "create",
        {
            "tags": {"amenity": "bench"},
            "geometry": {"type": "Point", "coordinates": [first.geom.x, first.geom.y + 1 / 111_320]},
        },
    )
    import_osm(newer, "centre")
    return {
        "town": centre_town,
        "merged": merged_node,
        "conflict": conflict_node,
        "gone": gone,
        "bench": bench_id,
        "newer": newer,
        "party": party,
    }


def test_different_keys_merge_automatically(diverged):
    node = Node.objects.get(town=diverged["town"], osm_id=diverged["merged"].osm_id)
    assert node.tags["opening_hours"] == "24/7" and node.tags["check_date"] == "2026-06-01"
    assert node.base_version == diverged["merged"].base_version + 1  # the new upstream version
    assert node.version == node.base_version + 1  # still a local change to upload
    assert not UpstreamConflict.objects.filter(element_id=node.osm_id).exists()


def test_same_key_goes_to_the_needs_merge_list(diverged):
    conflict = UpstreamConflict.objects.get(element_id=diverged["conflict"].osm_id)
    assert conflict.kind == UpstreamConflict.Kind.EDITED and conflict.keys == ["check_date"]
    assert conflict.local["tags"]["check_date"] == "2025-01-01"
    assert conflict.upstream["tags"]["check_date"] == "2026-06-01"
    assert conflict.base["tags"].get("check_date") is None
    gone = UpstreamConflict.objects.get(element_id=diverged["gone"].osm_id)
    assert gone.kind == UpstreamConflict.Kind.DELETED_UPSTREAM
    assert Node.objects.get(town=diverged["town"], osm_id=diverged["gone"].osm_id).visible


def test_local_creation_near_a_new_osm_feature_is_flagged(diverged):
    flag = UpstreamConflict.objects.get(element_id=diverged["bench"])
    assert flag.kind == UpstreamConflict.Kind.MAYBE_IN_OSM and flag.upstream_ref.startswith("node/")


def test_osmchange_is_against_the_latest_base_and_holds_back_open_conflicts(diverged, tmp_path):
    town = diverged["town"]
    osc = tmp_path / "held.osc"
    build_export(town, "osc", osc)
    text = osc.read_text()
    merged = Node.objects.get(town=town, osm_id=diverged["merged"].osm_id)
    assert f'<node id="{merged.osm_id}" version="{merged.base_version}"' in text
    assert f'id="{diverged["conflict"].osm_id}"' not in text and f'id="{diverged["bench"]}"' not in text
    agent = AgentFactory(town=town)
    for conflict in UpstreamConflict.objects.filter(town=town, status="open"):
        resolve_conflict(conflict, "upstream" if conflict.kind == "edited" else "local", agent)
    with pytest.raises(MergeError):
        resolve_conflict(UpstreamConflict.objects.filter(town=town).first(), "local", agent)
    # Now: applying our osmChange to the newer extract gives exactly our full export.
    build_export(town, "osc", osc)
    full = tmp_path / "full.osm"
    build_export(town, "osm", full)
    applied = tmp_path / "applied.osm"
    osmium("apply-changes", diverged["newer"], osc, "-o", applied)
    a, b = normalised(applied, tmp_path / "a.opl"), normalised(full, tmp_path / "b.opl")
    assert osmium("diff", "-q", a, b, check=False).returncode == 0, osmium(
        "diff", "-c", a, b, check=False
    ).stdout[:2000]
    text = osc.read_text()
    conflict_node = Node.objects.get(town=town, osm_id=diverged["conflict"].osm_id)
    assert (
        conflict_node.tags["check_date"] == "2026-06-01"
        and conflict_node.version == conflict_node.base_version
    )
    assert f'<node id="{diverged["bench"]}"' in text  # kept: a creation to upload
    recreated = Node.objects.get(town=town, tags__note="still here")
    assert recreated.osm_id < 0 and f'<node id="{recreated.osm_id}"' in text


def test_only_an_agent_of_the_town_may_choose(diverged):
    conflict = UpstreamConflict.objects.filter(town=diverged["town"]).first()
    with pytest.raises(MergeError):
        resolve_conflict(conflict, "local", AgentFactory())
    with pytest.raises(MergeError):
        resolve_conflict(conflict, "local", ResidentFactory(party=diverged["party"]))


def test_merge_page_lets_an_agent_choose(client, diverged):
    town = diverged["town"]
    url = "/towns/centre/data/merge/"
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(AgentFactory())  # another town's agent
    assert client.get(url).status_code == 403
    client.force_login(AgentFactory(town=town))
    html = client.get(url).content.decode()
    assert "check_date" in html and "both changed" in html and "Keep ours" in html
    conflict = UpstreamConflict.objects.get(element_id=diverged["conflict"].osm_id)
    response = client.post(f"/towns/centre/data/merge/{conflict.pk}/", {"choice": "upstream"})
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == UpstreamConflict.Status.TOOK_UPSTREAM


def test_open_data_page_points_agents_to_the_merge_list(client, diverged):
    client.force_login(AgentFactory(town=diverged["town"]))
    html = client.get("/towns/centre/data/").content.decode()
    assert "/towns/centre/data/merge/" in html and "need a choice" in html

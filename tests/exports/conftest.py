"""Fixtures for export tests: accepted changes made the only legal way (mapping.store.apply_change)."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from mapping.models import Node, Relation, Revision, Way
from mapping.store import apply_change, element_state, next_local_id
from parties.models import Party, Town
from tests.factories import PartyFactory, ResidentFactory


@dataclass
class Edits:
    """What :func:`accept` did, so tests can check the exports reflect it."""

    town: Town
    party: Party
    created: list[tuple[str, int]] = field(default_factory=list)
    modified: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[tuple[str, int]] = field(default_factory=list)


def accept(
    town: Town, party: Party, author, element_type: str, element_id: int, action: str, after: dict | None
):
    """Apply one change to the store and record it as an accepted revision of ``party``."""
    model = {"node": Node, "way": Way, "relation": Relation}[element_type]
    current = model.objects.filter(town=town, osm_id=element_id).first()
    before = element_state(current) if current is not None else None
    element = apply_change(
        town=town,
        element_type=element_type,
        element_id=element_id,
        action=action,
        after=after,
        base_version=current.version if current is not None else None,
    )
    Revision.objects.create(
        town=town,
        party=party,
        author=author,
        element_type=element_type,
        element_id=element_id,
        action=action,
        base_version=current.version if current is not None else None,
        before=before,
        after=after,
        status=Revision.Status.ACCEPTED,
        reviewed_at=timezone.now(),
    )
    return element


def _free_poi(town: Town, exclude: set[int]) -> Node:
    """A tagged node no way and no relation uses (safe to delete on its own)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT n.osm_id FROM mapping_node n
            WHERE n.town_id = %s AND n.visible AND n.osm_id > 0 AND n.tags ? 'amenity' AND n.osm_id <> ALL(%s)
              AND NOT EXISTS (SELECT 1 FROM mapping_way w WHERE w.town_id = n.town_id AND w.nodes @> ARRAY[n.osm_id])
              AND NOT EXISTS (SELECT 1 FROM mapping_relation r, jsonb_array_elements(r.members) m
                              WHERE r.town_id = n.town_id AND m->>'type' = 'node' AND (m->>'ref')::bigint = n.osm_id)
            ORDER BY n.osm_id LIMIT 1
            """,
            [town.pk, list(exclude)],
        )
        return Node.objects.get(town=town, osm_id=cur.fetchone()[0])


def make_edits(town: Town, party: Party | None = None) -> Edits:
    """A representative set of accepted changes on an imported town (every kind of change)."""
    with connection.cursor() as cur:
        # Fresh rows imported in this transaction: without statistics the planner picks
        # whole-table plans for mapping.store.derived's per-way rebuild (seconds per change).
        cur.execute("ANALYZE mapping_node, mapping_way, mapping_relation")
    party = party or PartyFactory(town=town, hashtag="vaduzmaps")
    author = ResidentFactory(party=party, nickname="Anna")
    edits = Edits(town=town, party=party)
    # Tags of an imported POI (not in any way or relation).
    poi = _free_poi(town, set())
    state = element_state(poi)
    accept(
        town,
        party,
        author,
        "node",
        poi.osm_id,
        "modify",
        {**state, "tags": {**poi.tags, "opening_hours": "Mo-Fr 08:00-18:00"}},
    )
    edits.modified.append(("node", poi.osm_id))
    # Move one vertex of an imported road: the way keeps its nodes, the node is modified.
    road = (
        Way.objects.filter(town=town, visible=True, tags__highway="residential", geom__isnull=False)
        .order_by("osm_id")
        .first()
    )
    road_state = element_state(road)
    moved = [list(v) for v in road_state["nodes"]]
    moved[1][1] += 0.00005
    accept(
        town,
        party,
        author,
        "way",
        road.osm_id,
        "modify",
        {"tags": {**road.tags, "surface": "asphalt"}, "nodes": moved, "closed": road_state["closed"]},
    )
    edits.modified += [("way", road.osm_id), ("node", moved[1][0])]
    # A new footway with three new nodes, and a new bench.
    path_id = next_local_id()
    accept(
        town,
        party,
        author,
        "way",
        path_id,
        "create",
        {
            "tags": {"highway": "footway", "name": 'Sentier & "Rheinblick" <neu>'},
            "nodes": [[None, 9.5201, 47.1401], [None, 9.5204, 47.1403], [None, 9.5207, 47.1402]],
            "closed": False,
        },
    )
    bench_id = next_local_id()
    accept(
        town,
        party,
        author,
        "node",
        bench_id,
        "create",
        {
            "tags": {"amenity": "bench", "backrest": "yes"},
            "geometry": {"type": "Point", "coordinates": [9.5210, 47.1411]},
        },
    )
    edits.created += [("way", path_id), ("node", bench_id)]
    # Delete an imported POI and an imported building (its untagged nodes go with it).
    gone = _free_poi(town, {poi.osm_id})
    accept(town, party, author, "node", gone.osm_id, "delete", None)
    building = Way.objects.filter(town=town, visible=True, tags__building="yes").order_by("osm_id")
    building = next(
        b
        for b in building
        if not Relation.objects.filter(
            town=town, members__contains=[{"type": "way", "ref": b.osm_id}]
        ).exists()
    )
    accept(town, party, author, "way", building.osm_id, "delete", None)
    edits.deleted += [("node", gone.osm_id), ("way", building.osm_id)]
    return edits


@pytest.fixture
def edited_centre(centre_town) -> Edits:
    return make_edits(centre_town)


def osmium(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["osmium", *map(str, args)], capture_output=True, text=True, check=check)


FIXED = dt.datetime(2024, 5, 4, 10, 30, tzinfo=dt.UTC)

"""Make a "newer" extract from an OSM file, as OpenStreetMap would have moved on (deterministic).

    .venv/bin/python scripts/make_newer_extract.py INPUT.osm.pbf OUTPUT.osm [--seed 7]

Changes, chosen from the ids so the same input always gives the same output:

- **modified**: every tagged node whose id % 13 == seed % 13 gets version + 1 and a new tag
  ``check_date=2026-06-01``; every way whose id % 11 == seed % 11 gets version + 1 and
  ``surface=paved`` (highways) or ``check_date=2026-06-01``.
- **deleted**: every tagged node no way or relation uses whose id % 17 == seed % 17, and every
  way no relation uses whose id % 19 == seed % 19 (with its untagged nodes no other way uses).
- **added**: after every 50th tagged node, a new ``amenity=bench`` node 2 m north of it (ids above
  the input's largest), as another mapper would have surveyed it.

Writes with pyosmium (nodes, then ways, then relations, sorted by id).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import osmium

CHECK_DATE = ("check_date", "2026-06-01")
METRE_LAT = 1 / 111_320  # degrees of latitude per metre


def plan(source: Path, seed: int) -> dict:
    """First pass: which ids to change, delete, add (needs the way and relation references)."""
    used_by_ways: dict[int, int] = {}
    in_relations: set[tuple[str, int]] = set()
    tagged_nodes: list[tuple[int, float, float]] = []
    ways: dict[int, list[int]] = {}
    max_id = 0
    for obj in osmium.FileProcessor(str(source)):
        max_id = max(max_id, obj.id)
        if obj.is_node():
            if len(obj.tags) and obj.location.valid():
                tagged_nodes.append((obj.id, obj.location.lon, obj.location.lat))
        elif obj.is_way():
            refs = [n.ref for n in obj.nodes]
            ways[obj.id] = refs
            for ref in set(refs):
                used_by_ways[ref] = used_by_ways.get(ref, 0) + 1
        else:
            in_relations.update((m.type, m.ref) for m in obj.members)
    tagged_ids = {n[0] for n in tagged_nodes}
    deleted_ways = {w for w in ways if w % 19 == seed % 19 and ("w", w) not in in_relations}
    orphaned = set()
    for w in deleted_ways:
        for ref in ways[w]:
            used_by_ways[ref] -= 1
    for w in deleted_ways:
        orphaned.update(r for r in ways[w] if used_by_ways[r] <= 0 and r not in tagged_ids)
    deleted_nodes = {
        n for n, _lon, _lat in tagged_nodes
        if n % 17 == seed % 17 and n not in used_by_ways and ("n", n) not in in_relations
    } | orphaned  # fmt: skip
    added = [
        (max_id + 1 + i, lon, lat + 2 * METRE_LAT) for i, (_n, lon, lat) in enumerate(tagged_nodes[::50])
    ]
    return {"deleted_nodes": deleted_nodes, "deleted_ways": deleted_ways, "added": added}


def make_newer(source: Path, output: Path, seed: int = 7) -> dict:
    """Write the newer extract; returns what changed (for tests and the summary line)."""
    p = plan(source, seed)
    modified = {"node": 0, "way": 0}
    output.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(output)) as writer:
        for obj in osmium.FileProcessor(str(source), osmium.osm.NODE):
            if obj.id in p["deleted_nodes"]:
                continue
            if len(obj.tags) and obj.id % 13 == seed % 13:
                tags = dict(obj.tags)
                tags[CHECK_DATE[0]] = CHECK_DATE[1]
                writer.add_node(obj.replace(version=obj.version + 1, tags=tags))
                modified["node"] += 1
            else:
                writer.add_node(obj)
        for new_id, lon, lat in p["added"]:
            writer.add_node(
                osmium.osm.mutable.Node(id=new_id, version=1, location=(lon, lat), tags={"amenity": "bench"})
            )
        for obj in osmium.FileProcessor(str(source), osmium.osm.WAY):
            if obj.id in p["deleted_ways"]:
                continue
            if obj.id % 11 == seed % 11:
                tags = dict(obj.tags)
                key, value = ("surface", "paved") if "highway" in tags else CHECK_DATE
                tags[key] = value
                writer.add_way(
                    obj.replace(version=obj.version + 1, tags=tags, nodes=[n.ref for n in obj.nodes])
                )
                modified["way"] += 1
            else:
                writer.add_way(obj)
        for obj in osmium.FileProcessor(str(source), osmium.osm.RELATION):
            writer.add_relation(obj)
    return {
        "modified": modified,
        "deleted": {"node": len(p["deleted_nodes"]), "way": len(p["deleted_ways"])},
        "added": {"node": len(p["added"])},
        "added_ids": [a[0] for a in p["added"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = make_newer(args.input, args.output, args.seed)
    print(
        f"modified {result['modified']}, deleted {result['deleted']}, added {result['added']} -> {args.output}"
    )


if __name__ == "__main__":
    main()

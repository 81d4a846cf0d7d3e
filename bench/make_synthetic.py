"""Make a synthetic extract N times the demo one: N copies with fresh ids and shifted coordinates.

    .venv/bin/python bench/make_synthetic.py --copies 20 -o bench/out/synthetic-20x.osm.pbf

Each copy k gets ids offset by k * 10**9 (so they never clash with real OSM ids of the demo) and is
shifted by k * 0.3 degrees east (copies laid side by side, like a string of neighbouring towns).
Deterministic: the same inputs give the same file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import osmium

DEMO = Path(__file__).resolve().parent.parent / "tests/data/extract/liechtenstein-2013-08-03.osm.pbf"
ID_STRIDE = 10**9
LON_SHIFT = 0.3


def make(source: Path, copies: int, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(output)) as writer:
        # Pass per type keeps the file sorted (all nodes, then ways, then relations).
        for kind in (osmium.osm.NODE, osmium.osm.WAY, osmium.osm.RELATION):
            for k in range(copies):
                off, dx = k * ID_STRIDE, k * LON_SHIFT
                for obj in osmium.FileProcessor(str(source), kind):
                    if obj.is_node():
                        loc = obj.location
                        writer.add_node(obj.replace(id=obj.id + off, location=(loc.lon + dx, loc.lat)))
                    elif obj.is_way():
                        writer.add_way(obj.replace(id=obj.id + off, nodes=[n.ref + off for n in obj.nodes]))
                    else:
                        members = [(m.type, m.ref + off, m.role) for m in obj.members]
                        writer.add_relation(obj.replace(id=obj.id + off, members=members))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--source", type=Path, default=DEMO)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    make(args.source, args.copies, args.output)


if __name__ == "__main__":
    main()

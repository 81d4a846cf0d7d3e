"""The child process of :func:`mapping.opl.stream_opl`: libosmium reads an OSM file and writes OPL.

``python -S -P opl_reader.py FILE all|ways|nodes`` writes OPL on stdout. A module of its own, which
imports nothing but pyosmium, because two of these start with every import and a town-sized import
is timed against osm2pgsql's 0.6 s: the decoder's imports (json, subprocess, dataclasses...) were
some 20-40 ms of CPU per child for code the child never runs.
"""

import sys

import osmium


def main(argv: list[str]) -> int:
    path, objects = argv[0], argv[1]
    ways = objects == "ways"
    options = "opl,add_metadata=version" + (",locations_on_ways=true" if ways else "")
    writer = osmium.SimpleWriter(osmium.io.File("-", options))
    try:
        if ways:
            # Locations of way vertices, kept in a sparse index in this process (16 bytes a node).
            index = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
            index.ignore_errors()  # a node outside the extract: left without location, see opl.way_rows
            only = osmium.filter.EntityFilter(osmium.osm.WAY | osmium.osm.RELATION)
            osmium.apply(osmium.io.Reader(path), index, only, writer)
        elif objects == "nodes":
            osmium.apply(osmium.io.Reader(path, osmium.osm.NODE), writer)
        else:
            osmium.apply(osmium.io.Reader(path), writer)
        writer.close()
    except (RuntimeError, ValueError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

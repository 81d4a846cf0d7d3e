"""Decode OSM files in bulk: libosmium writes OPL, regular expressions turn it into COPY rows.

Why not one Python call per OSM object: even an empty pyosmium loop over a 1.3 M-node file takes
2.5 s, and reading each node's id, version, tags and location three times that, which made the
importer several times slower than osm2pgsql. Here a child process (pyosmium, C++ all the way) reads
the file and writes OPL (https://osmcode.org/opl-file-format/), one object per line, with node
locations attached to ways; the importer cuts that stream into chunks and rewrites whole chunks with
compiled regular expressions (C speed). Python only touches objects with tags or with members, and
the stream never holds more than one chunk: memory does not grow with the file. Nodes, nine objects
in ten, become binary COPY rows column by column (:mod:`mapping.opl_binary`).

OPL escapes a character outside its safe set as ``%<hex code point>%``; keys, values and roles are
unescaped here. ``ObjectRuns`` keeps the file order, so an unsorted file still works (a new COPY is
started whenever the object type changes).

The child is :mod:`mapping.opl_reader`.
"""

from __future__ import annotations

import json
import re
import sys
from array import array
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from core.geo import ewkb_header
from mapping import opl_children

CHUNK = 1 << 20  # 1 MiB of OPL per read: whole-list operations dominate, memory stays small

_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
# Little-endian EWKB headers with the project's SRID: point, linestring, polygon (by WKB type).
_EWKB_HEADER = {wkb_type: ewkb_header(wkb_type) for wkb_type in (1, 2, 3)}
_WKB_HEADER = {2: b"\x01\x02\x00\x00\x00", 3: b"\x01\x03\x00\x00\x00\x01\x00\x00\x00"}  # one ring


def _wkb_line_or_ring(coords: array[float], polygon: bool) -> bytes:
    """WKB of a linestring, or of a one-ring polygon, from flat lon, lat doubles."""
    if sys.byteorder == "big":
        coords.byteswap()
    return _WKB_HEADER[3 if polygon else 2] + (len(coords) // 2).to_bytes(4, "little") + coords.tobytes()


def _ewkb_hex(wkb: bytes) -> str:
    """The WKB of :func:`_wkb_line_or_ring` as hex EWKB with the project's SRID, for COPY."""
    return _EWKB_HEADER[wkb[1]] + wkb[5:].hex()


_WAY = re.compile(r"^w(-?\d+) v(\d+) dV T(\S*) N(\S*)$", re.M)
_WAY_XY = re.compile(r"x[-\d.]*y[-\d.]*")  # "n1x9.5y47.1" -> "n1"
_WAY_ID = re.compile(r"n-?\d+x")  # "n1x9.5y47.1" -> "9.5y47.1"
_RELATION = re.compile(r"^r(-?\d+) v(\d+) dV T(\S*) M(\S*)$", re.M)
MEMBER_TYPES = {"n": "node", "w": "way", "r": "relation"}


def unescape(text: str) -> str:
    """OPL's ``%<hex>%`` escapes back to characters."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "%" in text else text


def parse_tags(field: str) -> dict[str, str]:
    """``k=v,k2=v2`` (OPL, escaped) to a dict. Separators inside keys and values are escaped."""
    tags: dict[str, str] = {}
    if field:
        for pair in field.split(","):
            key, _, value = pair.partition("=")
            tags[unescape(key)] = unescape(value)
    return tags


def copy_json(value: object) -> str:
    """JSON for a COPY text field: json.dumps escapes control characters; COPY needs ``\\`` doubled."""
    return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")


def tags_json(field: str, for_copy_text: bool = True) -> str:
    """The OPL tag field as JSON text for COPY (``for_copy_text``: backslashes doubled), or as is.

    Most tag fields have nothing to escape in JSON or COPY (no ``%`` escape, quote or backslash;
    OPL escapes control characters), and OPL's separators are then JSON's: two replacements give
    exactly what ``json.dumps`` would, without building a dict. The rest goes through ``json``.
    """
    if not field:
        return "{}"
    # Something to unescape or escape, or a pair without "=" (a key with an empty value).
    if "%" in field or '"' in field or "\\" in field or field.count("=") != field.count(",") + 1:
        tags = parse_tags(field)
        return copy_json(tags) if for_copy_text else json.dumps(tags, ensure_ascii=False)
    return '{"' + field.replace(",", '", "').replace("=", '": "') + '"}'


def json_text(field: str) -> str:
    """The OPL tag field as JSON, for binary COPY (nothing doubled)."""
    return tags_json(field, for_copy_text=False)


def way_rows(
    chunk: str,
    row: Callable[[str, str, str, str, str | None], str],
    is_area: Callable[[dict[str, str]], bool] | None = None,
) -> tuple[str, int, list[int]]:
    """Rewrite the way lines of ``chunk``: returns (rows, count, ids left without geometry).

    ``row(osm_id, version, tags_json, nodes_array, geom)`` formats one COPY row. With node locations
    in the stream (``is_area`` given), the line or polygon (OSM's area rules) is built here as hex
    EWKB when every node has a location and GEOS finds it valid; ways with a node outside the
    extract, fewer than two nodes or an invalid shape get ``geom=None`` and are returned so the
    caller derives them in PostGIS (repairing them), with the same rules as every other way.
    """
    records: list[tuple[str, str, str, str]] = []
    shapes: list[bytes | None] = []
    for m in _WAY.finditer(chunk):
        osm_id, version, tag_field, refs = m.groups()
        if is_area is None:
            records.append((osm_id, version, tags_json(tag_field), "{" + refs.replace("n", "") + "}"))
            shapes.append(None)
            continue
        # refs is "n1x9.5y47.1,n2x9.6y47.2": ids and coordinates are cut out with C-speed
        # substitutions, not split node by node.
        records.append(
            (osm_id, version, tags_json(tag_field), "{" + _WAY_XY.sub("", refs).replace("n", "") + "}")
        )
        wkb = None
        if "xy" not in refs and "," in refs:  # every node located ("n9xy" if not), two or more
            coords = array("d", map(float, _WAY_ID.sub("", refs).replace("y", ",").split(",")))
            closed = coords[0] == coords[-2] and coords[1] == coords[-1]
            wkb = _wkb_line_or_ring(coords, closed and len(coords) >= 8 and is_area(parse_tags(tag_field)))
        shapes.append(wkb)
    pending: list[int] = []
    if is_area is not None:
        # GEOS, as PostGIS's ST_IsValid, in one vectorised call: what is invalid is left to PostGIS
        # to repair, exactly as for every other way.
        import shapely

        built = [i for i, wkb in enumerate(shapes) if wkb is not None]
        valid = shapely.is_valid(shapely.from_wkb([shapes[i] for i in built])) if built else []
        for i, ok in zip(built, valid, strict=True):
            if not ok:
                shapes[i] = None
        pending = [int(rec[0]) for rec, wkb in zip(records, shapes, strict=True) if wkb is None]
    rows = "".join(
        [row(*rec, _ewkb_hex(wkb) if wkb else None) for rec, wkb in zip(records, shapes, strict=True)]
    )
    return rows, len(records), pending


def relation_rows(chunk: str) -> tuple[str, int]:
    """Rewrite the relation lines of ``chunk`` into rows of (osm_id, version, tags, members)."""
    out = []
    for m in _RELATION.finditer(chunk):
        osm_id, version, tag_field, member_field = m.groups()
        members = []
        if member_field:
            for item in member_field.split(","):
                ref, _, role = item[1:].partition("@")
                members.append({"type": MEMBER_TYPES[item[0]], "ref": int(ref), "role": unescape(role)})
        out.append(f"{osm_id}\t{version}\t{tags_json(tag_field)}\t{copy_json(members)}\n")
    return "".join(out), len(out)


def object_runs(chunk: str) -> Iterator[tuple[str, str]]:
    """Split a chunk of whole OPL lines into runs of one object type: ('n'|'w'|'r', text)."""
    start, size = 0, len(chunk)
    while start < size:
        kind = chunk[start]
        end = size
        for other in "nwrc":
            if other != kind:
                i = chunk.find("\n" + other, start, end)
                if i != -1:
                    end = i + 1
        yield kind, chunk[start:end]
        start = end


class OplError(Exception):
    """libosmium could not read the file (truncated, corrupt, not OSM); the message says why."""


PASSES = ("all", "ways", "nodes")


def stream_opl(path: Path, objects: str = "all") -> Generator[str, None, None]:
    """Chunks of whole OPL lines for the file at ``path``, from a pyosmium child process.

    ``objects``: "all" in file order; "ways" for ways (with node locations) and relations;
    "nodes" for nodes only. Raises :class:`OplError` after the last chunk if the child failed:
    the caller's transaction then rolls back whatever it already wrote.
    """
    if objects not in PASSES:
        raise ValueError(objects)
    child = opl_children.take(path, objects) or opl_children.spawn(path, objects)
    proc, errors = child.proc, child.errors
    with errors:
        assert proc.stdout is not None
        try:
            rest = b""
            # The first chunks are small, so the database has work before the first megabyte is in.
            size = CHUNK >> 4
            while block := proc.stdout.read(size):
                size = min(2 * size, CHUNK)
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest = block[cut:]
                if cut:
                    yield block[:cut].decode()
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0 or rest:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            raise OplError(lines[-1] if lines else f"reader exited with status {code}")

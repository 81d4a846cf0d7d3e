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
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from core.geo import ewkb_header
from mapping import opl_children

# 256 KiB of OPL per read: whole-chunk operations dominate still, and every block a chunk makes
# (strings, lists, numpy columns, rows) is under 1 MiB, served from glibc's heap and reused without
# page faults (mapping.osm_import._malloc_for_chunks); memory stays small.
CHUNK = 1 << 18

_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
_JSON_SPECIAL = re.compile(r'[\x00-\x1f"\\]')  # what json.dumps escapes (ensure_ascii=False)


# Little-endian hex EWKB headers with the project's SRID: linestring, one-ring polygon.
_EWKB_LINE = ewkb_header(2)
_EWKB_POLYGON = ewkb_header(3) + "01000000"
_WAY = re.compile(r"^w(-?\d+) v(\d+) dV T(\S*) N(\S*)$", re.M)
_WAY_XY = re.compile(r"x[-\d.]*y[-\d.]*")  # "n1x9.5y47.1" -> "n1"
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
    pairs = field.count(",") + 1
    # OPL escapes (spaces, accents...) that stand for no separator and nothing JSON must escape
    # take the shortcut too, once unescaped.
    text = unescape(field) if "%" in field else field
    # Something JSON or COPY must escape, or a pair without "=" (a key with an empty value).
    if (
        field.count("=") != pairs
        or (text is not field and (text.count("=") != pairs or text.count(",") != pairs - 1))
        or _JSON_SPECIAL.search(text)
    ):
        tags = parse_tags(field)
        return copy_json(tags) if for_copy_text else json.dumps(tags, ensure_ascii=False)
    return '{"' + text.replace(",", '", "').replace("=", '": "') + '"}'


def copy_opl(tag_field: str, letter: str, field: str) -> str:
    """An element's content as OPL (`` T<tags> x<lon> y<lat>``, `` T<tags> N<refs>``,
    `` T<tags> M<members>``), as libosmium wrote it, for COPY text: the column exports read instead
    of formatting the element again (mapping migration 0012). libosmium leaves backslashes
    unescaped; COPY needs them doubled."""
    text = f" T{tag_field} {letter}{field}"
    return text.replace("\\", "\\\\") if "\\" in text else text


def json_text(field: str) -> str:
    """The OPL tag field as JSON, for binary COPY (nothing doubled)."""
    return tags_json(field, for_copy_text=False)


def way_rows(
    chunk: str,
    row: Callable[[str, str, str, str, str | None, str], str],
    is_area: Callable[[dict[str, str]], bool] | None = None,
) -> tuple[str, int, list[int]]:
    """Rewrite the way lines of ``chunk``: returns (rows, count, ids left without geometry).

    ``row(osm_id, version, tags_json, nodes_array, geom, opl)`` formats one COPY row; ``opl`` is the
    way's content as OPL text for exports (:func:`copy_opl`). With node locations
    in the stream (``is_area`` given), the line or polygon (OSM's area rules) is built here as hex
    EWKB when every node has a location and GEOS finds it valid; ways with a node outside the
    extract, fewer than two nodes or an invalid shape get ``geom=None`` and are returned so the
    caller derives them in PostGIS (repairing them), with the same rules as every other way.

    Whole-chunk operations, not a loop of small ones per way: the node lists of all ways are cut
    out of one joined string by one substitution, the coordinates of all located ways parsed in one
    numpy call, and shapely builds, checks and writes every geometry in one vectorised call each.
    """
    records = _WAY.findall(chunk)  # [(osm_id, version, tags, refs)]
    if not records:
        return "", 0, []
    refs = [r[3] for r in records]
    joined = "}\n{".join(refs)
    # refs are "n1x9.5y47.1,n2x9.6y47.2" ("n1" without locations): "{1,2}" for COPY, "n1,n2" for opl.
    bare = _WAY_XY.sub("", joined) if is_area is not None else joined
    nodes = ("{" + bare.replace("n", "") + "}").split("\n")
    texts = bare.split("}\n{")
    geoms: list[str | None] = [None] * len(records)
    pending: list[int] = []
    if is_area is not None:
        geoms, pending = _way_geometries(records, refs, is_area)
    rows = "".join(
        [
            row(r[0], r[1], tags_json(r[2]), n, g, copy_opl(r[2], "N", t))
            for r, n, g, t in zip(records, nodes, geoms, texts, strict=True)
        ]
    )
    return rows, len(records), pending


def _way_geometries(
    records: list[tuple[str, str, str, str]], refs: list[str], is_area: Callable[[dict[str, str]], bool]
) -> tuple[list[str | None], list[int]]:
    """Hex EWKB of each way (None if not built here) and the ids of those left to PostGIS."""
    import numpy as np
    import shapely

    # Every node located ("n9xy" if not) and two nodes or more.
    built = [i for i, r in enumerate(refs) if "xy" not in r and "," in r]
    geoms: list[str | None] = [None] * len(records)
    if built:
        counts = np.array([refs[i].count(",") + 1 for i in built])
        # "n1x9.5y47.1,n2x..." -> "1,9.5,47.1,2,...": ids and coordinates in one parse.
        text = ",".join([refs[i] for i in built])[1:].replace(",n", ",").replace("x", ",").replace("y", ",")
        coords = np.fromstring(text, dtype=np.float64, sep=",").reshape(-1, 3)[:, 1:]
        if len(coords) != counts.sum():  # cannot happen with libosmium's OPL; be safe rather than wrong
            raise OplError("malformed way locations")
        ends = np.cumsum(counts)
        starts = ends - counts
        closed = (coords[starts] == coords[ends - 1]).all(axis=1) & (counts >= 4)
        polygon = np.zeros(len(built), dtype=bool)
        for k in np.flatnonzero(closed).tolist():
            polygon[k] = is_area(parse_tags(records[built[k]][2]))
        shapes = np.empty(len(built), dtype=object)
        for is_polygon in (False, True):
            chosen = polygon == is_polygon
            if not chosen.any():
                continue
            points = coords[np.repeat(chosen, counts)]
            index = np.repeat(np.arange(int(chosen.sum())), counts[chosen])
            if is_polygon:
                shapes[chosen] = shapely.polygons(shapely.linearrings(points, indices=index))
            else:
                shapes[chosen] = shapely.linestrings(points, indices=index)
        # GEOS, as PostGIS's ST_IsValid: what is invalid is left to PostGIS to repair, exactly as
        # for every other way.
        valid = shapely.is_valid(shapes)
        # Hex EWKB, cut out of one hex string of all the coordinates (shapely's writer is slower).
        points_hex = np.ascontiguousarray(coords, dtype="<f8").tobytes().hex()
        for i, n, start, area in zip(
            np.asarray(built)[valid].tolist(),
            counts[valid].tolist(),
            starts[valid].tolist(),
            polygon[valid].tolist(),
            strict=True,
        ):
            head = _EWKB_POLYGON if area else _EWKB_LINE
            geoms[i] = head + n.to_bytes(4, "little").hex() + points_hex[32 * start : 32 * (start + n)]
    pending = [int(r[0]) for r, g in zip(records, geoms, strict=True) if g is None]
    return geoms, pending


def members_json(field: str) -> str:
    """The OPL member field (``w12@outer,n5@``) as JSON text for COPY: type, ref and role of each.

    Most member fields have nothing to unescape or escape (roles are words): replacements of the
    separators then give the JSON without a dict per member (boundaries have thousands). Others go
    through ``json``.
    """
    if not field:
        return "[]"
    if "%" in field or '"' in field or "\\" in field or "{" in field:
        members = []
        for item in field.split(","):
            ref, _, role = item[1:].partition("@")
            members.append({"type": MEMBER_TYPES[item[0]], "ref": int(ref), "role": unescape(role)})
        return copy_json(members)
    text = "{" + field.replace(",", '"}, {').replace("@", ', "role": "') + '"}'
    for letter, name in MEMBER_TYPES.items():
        text = text.replace("{" + letter, '{"type": "' + name + '", "ref": ')
    return "[" + text + "]"


def relation_rows(chunk: str) -> tuple[str, int]:
    """Rewrite the relation lines of ``chunk`` into rows of (osm_id, version, tags, members)."""
    out = [
        f"{osm_id}\t{version}\t{tags_json(tag_field)}\t{members_json(member_field)}\t"
        f"{copy_opl(tag_field, 'M', member_field)}\n"
        for osm_id, version, tag_field, member_field in _RELATION.findall(chunk)
    ]
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
            size = CHUNK >> 2
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

"""OPL node lines to PostgreSQL binary COPY rows, column by column with numpy.

Why: nodes are nine objects in ten of an extract. As text rows each node cost the importer a
Python string per column, a float parse per coordinate into an ``array``, a hex EWKB string and a
formatted row: 2.4 s of CPU for the 1.3 M nodes of the 20x bench file, 1.6 s this way (most of
what remains is parsing the coordinates). PostgreSQL's side is the same either way (its work is the
index entries, not parsing). Here a run of node lines becomes a few numpy arrays (numbers parsed from one joined
string per column, in C) and a block of fixed-width binary records: ids, versions and the EWKB point
in place, ``{}`` for the tags. Only tagged nodes (a few per cent) get a record of their own, with
their JSON at its end; the rows keep the file's order.

Binary COPY: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4 (big-endian
integers, each field prefixed with its length). ``geometry`` takes (E)WKB (PostGIS's
``geometry_recv``), ``jsonb`` a version byte (1) before the JSON text.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import compress

import numpy as np

from core.geo import SRID
from mapping.opl import json_text

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"

_POINT = 0x20000001  # EWKB point with an SRID
_EMPTY_TAGS = b"\x01{}"  # jsonb: version 1, then the text


def _record(columns: list[tuple[str, str]]) -> np.dtype:
    """A packed record: the field count, then each column's length prefix and value; tags last."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name, kind in columns:
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    return np.dtype([*fields, ("tags_len", ">i4"), ("tags", "S3"), ("opl_len", ">i4")])


# COPY mapping_node (town_id, osm_id, version, base_version, geom, tags): a first import.
DIRECT = _record(
    [("town", ">i8"), ("osm_id", ">i8"), ("version", ">i4"), ("base_version", ">i4"), ("geom", "V25")]
)
# COPY imp_node (osm_id, version, lon, lat, tags): a re-import's staging table.
STAGED = _record([("osm_id", ">i8"), ("version", ">i4"), ("lon", ">f8"), ("lat", ">f8")])
_GEOM = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<i4"), ("x", "<f8"), ("y", "<f8")])


@dataclass
class NodeArrays:
    """The located, visible nodes of a run of OPL node lines."""

    ids: np.ndarray
    versions: np.ndarray
    lons: np.ndarray
    lats: np.ndarray
    # Tagged nodes: (position, OPL tag field without its "T", the node's content as the file's OPL,
    # `` T<tags> x<lon> y<lat>``, for the ``opl`` column: mapping migration 0012). An untagged
    # node's content is NULL there: exports format it from its location, which is cheap, and the
    # records of untagged nodes keep one width (a text for each cost the import a tenth more).
    tagged: list[tuple[int, str, bytes]]

    def __len__(self) -> int:
        return len(self.ids)


def _numbers(fields: list[str], prefix: str, dtype: type) -> np.ndarray:
    """One column of ``prefix<number>`` fields parsed in one C call (no string per value)."""
    text = " ".join(fields)[1:].replace(" " + prefix, " ")
    return np.fromstring(text, dtype, sep=" ")


def node_arrays(run: str) -> NodeArrays:
    """Split a run of OPL node lines (``n<id> v<version> dV T<tags> x<lon> y<lat>``) into arrays.

    Nodes without a location (outside the extract) or deleted ones (history files) are dropped.
    """
    fields = run.split()
    count = run.count("\n")
    if len(fields) != 6 * count:  # cannot happen with libosmium's OPL; be safe rather than wrong
        fields = [f for line in run.splitlines() if len(parts := line.split()) == 6 for f in parts]
        count = len(fields) // 6
    if fields[2::6].count("dV") != count or "x" in fields[4::6] or "y" in fields[5::6]:
        fields = [
            f
            for i in range(0, len(fields), 6)
            if fields[i + 2] == "dV" and fields[i + 4] != "x" and fields[i + 5] != "y"
            for f in fields[i : i + 6]
        ]
    if not fields:
        empty = np.zeros(0)
        return NodeArrays(empty.astype(np.int64), empty.astype(np.int32), empty, empty, [])
    tags = fields[3::6]
    tagged = [
        (i, tags[i][1:], f" {tags[i]} {fields[6 * i + 4]} {fields[6 * i + 5]}".encode())
        for i in compress(range(len(tags)), map("T".__ne__, tags))
    ]
    return NodeArrays(
        ids=_numbers(fields[0::6], "n", np.int64),
        versions=_numbers(fields[1::6], "v", np.int64).astype(np.int32),
        lons=_numbers(fields[4::6], "x", np.float64),
        lats=_numbers(fields[5::6], "y", np.float64),
        tagged=tagged,
    )


def node_rows(nodes: NodeArrays, town: int | None) -> bytes:
    """Binary COPY rows (no header) for ``nodes``: into the store for ``town``, else staged."""
    kind = DIRECT if town else STAGED
    names = kind.names or ()
    rec = np.zeros(len(nodes), dtype=kind)
    rec["count"] = len(names) // 2
    for name in names[1:-1:2]:  # the length prefixes of the fixed-width columns
        rec[name] = kind[name[: -len("_len")]].itemsize
    rec["osm_id"] = nodes.ids
    rec["version"] = nodes.versions
    if town:
        rec["town"] = town
        rec["base_version"] = nodes.versions
        geom = np.zeros(len(nodes), dtype=_GEOM)
        geom["order"], geom["type"], geom["srid"] = 1, _POINT, SRID
        geom["x"], geom["y"] = nodes.lons, nodes.lats
        rec["geom"] = geom.view("V25")
    else:
        rec["lon"], rec["lat"] = nodes.lons, nodes.lats
    rec["tags"] = _EMPTY_TAGS
    rec["opl_len"] = -1  # NULL
    data = rec.tobytes()
    if not nodes.tagged:
        return data
    # Tagged nodes: their record up to the tags, then their own jsonb and OPL text (length-prefixed).
    size, fixed = kind.itemsize, kind.itemsize - 4 - 3 - 4
    view, start = memoryview(data), 0
    parts: list[bytes | memoryview] = []
    for i, field, text in nodes.tagged:
        value = json_text(field).encode()
        parts += [view[start : i * size + fixed], struct.pack(">iB", len(value) + 1, 1), value]
        parts += [struct.pack(">i", len(text)), text]
        start = (i + 1) * size
    parts.append(view[start:])
    return b"".join(parts)

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

from dataclasses import dataclass, field
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
    return np.dtype([*fields, ("tags_len", ">i4"), ("tags", "S3")])


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
    tagged: list[tuple[int, str]]  # (position, OPL tag field without its "T") of tagged nodes
    # Each node's content as the file's OPL, `` T<tags> x<lon> y<lat>`` (the ``opl`` column, for
    # exports: mapping migration 0012), all of them end to end in UTF-8, and each one's length.
    texts: bytes = b""
    text_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.ids)


def _numbers(fields: list[str], prefix: str, dtype: type) -> np.ndarray:
    """One column of ``prefix<number>`` fields parsed in one C call (no string per value)."""
    text = " ".join(fields)[1:].replace(" " + prefix, " ")
    return np.fromstring(text, dtype, sep=" ")


def node_arrays(run: str) -> NodeArrays:
    """Split a run of OPL node lines (``n<id> v<version> dV T<tags> x<lon> y<lat>``) into arrays.

    Nodes without a location (outside the extract) or deleted ones (history files) are dropped, as
    :func:`mapping.opl.node_columns` does.
    """
    fields = run.split()
    count = run.count("\n")
    whole = True  # every line of the run is kept, as it is
    if len(fields) != 6 * count:  # cannot happen with libosmium's OPL; be safe rather than wrong
        fields = [f for line in run.splitlines() if len(parts := line.split()) == 6 for f in parts]
        count, whole = len(fields) // 6, False
    if fields[2::6].count("dV") != count or "x" in fields[4::6] or "y" in fields[5::6]:
        whole = False
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
    tagged = [(i, tags[i][1:]) for i in compress(range(len(tags)), map("T".__ne__, tags))]
    texts, lengths = _texts(run) if whole else _texts_of_fields(fields, tagged)
    return NodeArrays(
        ids=_numbers(fields[0::6], "n", np.int64),
        versions=_numbers(fields[1::6], "v", np.int64).astype(np.int32),
        lons=_numbers(fields[4::6], "x", np.float64),
        lats=_numbers(fields[5::6], "y", np.float64),
        tagged=tagged,
        texts=texts,
        text_lengths=lengths,
    )


def _texts(run: str) -> tuple[bytes, np.ndarray]:
    """Each line's content (from the space before ``T`` to the end of the line), end to end, and
    each one's length in bytes: the lines with their ``n<id> v<version> dV`` and newline cut out by
    whole-array operations (every line has five spaces: OPL escapes the ones in tags)."""
    raw = np.frombuffer(run.encode(), np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.flatnonzero(raw == 32).reshape(-1, 5)[:, 2]
    heads = np.concatenate(([0], ends[:-1] + 1))
    # +1 where a cut-out stretch starts (a line's head, its newline), -1 where it ends.
    marks = np.zeros(len(raw) + 1, np.int8)
    marks[heads], marks[starts] = 1, -1
    marks[ends] += 1
    marks[ends + 1] -= 1
    keep = np.cumsum(marks[:-1]) == 0
    return raw[keep].tobytes(), ends - starts


def _texts_of_fields(fields: list[str], tagged: list[tuple[int, str]]) -> tuple[bytes, np.ndarray]:
    """:func:`_texts` for a run some of whose lines were dropped: from the fields kept."""
    content = np.array(fields, dtype=object).reshape(-1, 6)[:, 3:]
    texts = (" " + " ".join(content.ravel().tolist())).encode()
    lengths = np.fromiter(map(len, fields), np.int64, len(fields)).reshape(-1, 6)[:, 3:].sum(axis=1) + 3
    if len(texts) != int(lengths.sum()):  # only tags can hold non-ASCII characters
        for i, tag_field in tagged:
            lengths[i] += len(tag_field.encode()) - len(tag_field)
    return texts, lengths


def node_rows(nodes: NodeArrays, town: int | None) -> bytes:
    """Binary COPY rows (no header) for ``nodes``: into the store for ``town``, else staged.

    The fixed-width part of every record is filled column by column; the two variable fields at
    its end, the tags (``{}`` but for tagged nodes) and the node's OPL text, are put in place by
    :func:`_records` with whole-array copies.
    """
    kind = DIRECT if town else STAGED
    names = kind.names or ()
    rec = np.zeros(len(nodes), dtype=kind)
    rec["count"] = len(names) // 2 + 1  # the columns of the record, and the opl text after them
    for name in names[1::2]:  # the length prefixes
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
    fixed = rec.view(np.uint8).reshape(len(nodes), kind.itemsize)[:, : kind.itemsize - 4 - 3]
    tags = [_EMPTY_TAGS] * len(nodes)
    tag_lengths = np.full(len(nodes), len(_EMPTY_TAGS), np.int64)
    for i, tag_field in nodes.tagged:
        tags[i] = b"\x01" + json_text(tag_field).encode()
        tag_lengths[i] = len(tags[i])
    return _records(fixed, [(tag_lengths, b"".join(tags)), (nodes.text_lengths, nodes.texts)])


def _records(fixed: np.ndarray, variable: list[tuple[np.ndarray, bytes]]) -> bytes:
    """Records made of each row of ``fixed`` (bytes) followed by variable fields: for each field
    its lengths (one per record) and its values end to end; written as length prefix + value."""
    count, width = fixed.shape
    sizes = width + sum(4 + lengths for lengths, _ in variable)
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), np.uint8)
    out[(starts[:, None] + np.arange(width)).ravel()] = fixed.ravel()
    at = starts + width
    for lengths, values in variable:
        out[(at[:, None] + np.arange(4)).ravel()] = lengths.astype(">i4").view(np.uint8)
        at = at + 4
        if total := int(lengths.sum()):
            # Byte k of record i's value goes from its place in ``values`` to its place in ``out``.
            shift = np.repeat(at - (np.cumsum(lengths) - lengths), lengths)
            out[np.arange(total) + shift] = np.frombuffer(values, np.uint8)
        at = at + lengths
    return out.tobytes()

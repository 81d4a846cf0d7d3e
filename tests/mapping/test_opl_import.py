"""The bulk decoding path (mapping.opl): exact text, geometry equal to PostGIS's derivation, edge cases."""

from __future__ import annotations

import json
import struct
import time

import psycopg
import pytest
from django.db import connection

from mapping import opl, opl_binary
from mapping.geometry import is_area
from mapping.models import Node, Relation, Way
from mapping.osm_import import import_osm
from mapping.store.derived import rebuild_way_geometries

pytestmark = pytest.mark.django_db

# Characters OPL must escape (space , = @ %), control characters, astral and CJK characters, and
# what COPY and JSON must escape (backslash, quote, tab, newline).
TRICKY_KEY = "a b=c,d@e%f"
TRICKY_VALUE = "x\ny\tz \\ \" ' 😀 Ä 東京 <script>"

TRICKY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
<node id="1" version="3" lat="47.1" lon="9.5"><tag k="a b=c,d@e%f" v="x&#10;y&#9;z \\ &quot; ' 😀 Ä 東京 &lt;script&gt;"/><tag k="empty" v=""/></node>
<node id="2" version="1" lat="47.1" lon="9.501"/>
<node id="3" version="1" lat="47.101" lon="9.501"/>
<node id="4" version="1" lat="47.101" lon="9.5"/>
<node id="5" version="1"/>
<way id="10" version="2"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="yes"/></way>
<way id="11" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="highway" v="footway"/></way>
<way id="12" version="1"><nd ref="2"/><nd ref="99"/><nd ref="3"/><tag k="highway" v="path"/></way>
<way id="13" version="1"><nd ref="1"/><nd ref="3"/><nd ref="2"/><nd ref="4"/><nd ref="1"/><tag k="landuse" v="grass"/></way>
<way id="14" version="1"><nd ref="2"/></way>
<relation id="20" version="4"><member type="way" ref="10" role="outer ,@x"/><member type="node" ref="1" role=""/><member type="relation" ref="21" role="sub"/><tag k="type" v="multipolygon"/></relation>
</osm>
"""


@pytest.fixture
def tricky(tmp_path):
    path = tmp_path / "tricky.osm"
    path.write_text(TRICKY_OSM, encoding="utf-8")
    return import_osm(path, "tricky")


def test_tags_and_roles_come_back_exactly(tricky):
    node = Node.objects.get(town=tricky.town, osm_id=1)
    assert node.tags == {TRICKY_KEY: TRICKY_VALUE, "empty": ""}
    assert node.version == node.base_version == 3
    members = Relation.objects.get(town=tricky.town, osm_id=20).members
    assert members == [
        {"type": "way", "ref": 10, "role": "outer ,@x"},
        {"type": "node", "ref": 1, "role": ""},
        {"type": "relation", "ref": 21, "role": "sub"},
    ]


def test_a_node_without_location_is_not_imported(tricky):
    assert not Node.objects.filter(town=tricky.town, osm_id=5).exists()
    assert tricky.read["node"] == 4


def test_way_geometry_follows_the_area_rules_and_is_repaired_or_marked(tricky):
    ways = {w.osm_id: w for w in Way.objects.filter(town=tricky.town)}
    assert ways[10].geom.geom_type == "Polygon" and ways[10].geom_status == "ok"
    assert ways[11].geom.geom_type == "LineString"  # a closed footway is not an area
    assert ways[12].geom_status == "incomplete" and ways[12].nodes == [2, 99, 3]
    assert ways[13].geom_status == "repaired" and ways[13].geom.valid  # a bow-tie, made valid
    assert ways[14].geom is None and ways[14].geom_status == "invalid"  # one node: no line
    assert (tricky.geometry.incomplete, tricky.geometry.invalid) == (1, 1)


def test_stream_built_geometry_equals_the_postgis_derivation(vaduz):
    """Every way of the demo: the geometry built from the stream is exactly the one SQL derives."""
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE streamed AS SELECT id, geom, geom_status FROM mapping_way WHERE town_id = %s",
            [vaduz.pk],
        )
        rebuild_way_geometries(list(Way.objects.filter(town=vaduz).values_list("pk", flat=True)))
        cur.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE s.geom_status IS DISTINCT FROM w.geom_status
                                                OR NOT ST_OrderingEquals(s.geom, w.geom)
                                                OR (s.geom IS NULL) <> (w.geom IS NULL))
            FROM streamed s JOIN mapping_way w ON w.id = s.id
            """
        )
        total, different = cur.fetchone()
        cur.execute("DROP TABLE streamed")
    assert total > 7000 and different == 0


def test_node_arrays_drop_unlocated_and_deleted_nodes():
    run = "n1 v2 dV T x9.5 y47.1\nn2 v1 dV T x y\nn3 v1 dD T x9.6 y47.2\nn-4 v7 dV Tname=A%20%B x-0.5 y-1\n"
    nodes = opl_binary.node_arrays(run)
    assert (nodes.ids.tolist(), nodes.versions.tolist(), nodes.lons.tolist(), nodes.lats.tolist()) == (
        [1, -4], [2, 7], [9.5, -0.5], [47.1, -1.0],
    )  # fmt: skip
    assert nodes.tagged == [(1, "name=A%20%B", b" Tname=A%20%B x-0.5 y-1")]


def _binary_fields(data: bytes) -> list[list[bytes]]:
    """Parse binary COPY rows (no header) into their fields, as PostgreSQL reads them."""
    rows, at = [], 0
    while at < len(data):
        count, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        fields = []
        for _ in range(count):
            size, at = int.from_bytes(data[at : at + 4], "big", signed=True), at + 4
            fields.append(data[at : at + size] if size >= 0 else None)  # -1: NULL
            at += max(size, 0)
        rows.append(fields)
    return rows


def test_node_rows_are_binary_copy_rows_in_file_order():
    nodes = opl_binary.node_arrays(
        "n1 v2 dV T x9.5 y47.1\nn-4 v7 dV Tname=A%20%B,q=%22% x-0.5 y-1\nn5 v1 dV T x0 y0\n"
    )
    direct = _binary_fields(opl_binary.node_rows(nodes, 3))
    assert [int.from_bytes(r[1], "big", signed=True) for r in direct] == [1, -4, 5]
    assert [(int.from_bytes(r[0], "big"), int.from_bytes(r[2], "big"), int.from_bytes(r[3], "big")) for r in direct] == [
        (3, 2, 2), (3, 7, 7), (3, 1, 1),
    ]  # fmt: skip
    assert direct[0][4].hex().upper() == "0101000020E6100000" + "0000000000002340cdcccccccc8c4740".upper()
    assert [r[5] for r in direct] == [b"\x01{}", b'\x01{"name": "A B", "q": "\\""}', b"\x01{}"]
    # The content as the file gave it, for exports (mapping migration 0012).
    assert [r[6] for r in direct] == [None, b" Tname=A%20%B,q=%22% x-0.5 y-1", None]
    staged = _binary_fields(opl_binary.node_rows(nodes, None))
    assert [len(r) for r in staged] == [6, 6, 6] and staged[1][4] == direct[1][5]
    assert [r[5] for r in staged] == [r[6] for r in direct]
    assert staged[1][2] == struct.pack(">d", -0.5) and staged[1][3] == struct.pack(">d", -1.0)


def test_way_rows_leave_ways_with_unlocated_nodes_to_postgis():
    run = "w1 v1 dV Thighway=path Nn1x9.5y47.1,n2xy\nw2 v1 dV Tbuilding=yes Nn1x0y0,n2x1y0,n3x1y1,n1x0y0\n"
    rows, count, pending = opl.way_rows(run, lambda i, v, t, n, g, o: f"{i}|{n}|{g}|{o}\n", is_area)
    first, second = rows.splitlines()
    assert count == 2 and pending == [1] and first == "1|{1,2}|None| Thighway=path Nn1,n2"
    assert second.startswith("2|{1,2,3,1}|0103000020E61000000100000004000000")
    assert second.endswith("| Tbuilding=yes Nn1,n2,n3,n1")  # the content for exports, without locations


def test_relation_rows_keep_the_members_as_opl_for_exports_with_backslashes_doubled_for_copy():
    rows, count = opl.relation_rows("r5 v2 dV Ttype=route,note=a\\b Mw1@,n2@stop%20%1\n")
    assert count == 1
    assert rows.endswith("\t Ttype=route,note=a\\\\b Mw1@,n2@stop%20%1\n")


@pytest.mark.parametrize(
    "field",
    [
        "highway=residential,name=Foo%20%Bar",
        "a=b",
        "k=",
        "a=b,c=d,e=",
        'x=say"hi"',
        "x=a\\b",
        "name=Äö東",
        "a=b%3d%c",
        "a",
        "a=b%2c%c",
        "a%3d%b=c",
        "a=b%22%",
        "a=b%5c%",
        "a=b%a%c",
        "a=b%9%c,d=e%20%f",
        "a=b%1f600%",
        "a=%2c%,b=%3d%",
    ],
)
def test_tags_json_shortcut_equals_json_dumps(field):
    assert opl.tags_json(field) == opl.copy_json(opl.parse_tags(field))
    assert opl.json_text(field) == json.dumps(opl.parse_tags(field), ensure_ascii=False)


@pytest.mark.parametrize(
    "field",
    [
        "",
        "w12@outer",
        "w12@outer,n-5@,r7@sub",
        "w1@a%20%b",
        "n1@x%22%y",
        "w1@%2c%,w2@%40%",
        "r1@{x}",
        "n1@Äö東",
    ],
)
def test_members_json_equals_json_dumps(field):
    members = [
        {"type": opl.MEMBER_TYPES[item[0]], "ref": int(item[1:].partition("@")[0]),
         "role": opl.unescape(item.partition("@")[2])}
        for item in (field.split(",") if field else [])
    ]  # fmt: skip
    text = opl.members_json(field)
    assert json.loads(text.replace("\\\\", "\\")) == members


@pytest.mark.parametrize("then", ["write", "close"])
def test_an_error_in_the_copy_thread_reaches_the_importer(then):
    """PostgreSQL refusing a row inside the COPY thread raises from the feeder itself, never hangs."""
    from django.db import transaction

    from mapping.osm_import import _CopyFeeder

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE feeder_test (n int); CREATE TEMP TABLE feeder_other (n int)")
        feeder = _CopyFeeder(cur.cursor)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            try:
                feeder.write("COPY feeder_test (n) FROM STDIN", "1\nnot a number\n")
                if then == "write":
                    # Switching tables ends the first COPY, where PostgreSQL reports the bad row;
                    # the importer's next write raises it.
                    feeder.write("COPY feeder_other (n) FROM STDIN", "2\n")
                    deadline = time.monotonic() + 10
                    while feeder.error is None and time.monotonic() < deadline:
                        time.sleep(0.01)
                    feeder.write("COPY feeder_other (n) FROM STDIN", "3\n")
            finally:
                feeder.close()
        transaction.set_rollback(True)


def test_sources_prefer_the_order_given_and_end_when_every_stream_is_exhausted():
    from mapping.osm_import import _Sources

    sources = _Sources({"ways": (c for c in ["w1", "w2"]), "nodes": (c for c in ["n1"])})
    deadline = time.monotonic() + 10
    while (len(sources.ready["ways"]), len(sources.ready["nodes"])) != (2, 1) and time.monotonic() < deadline:
        time.sleep(0.01)  # until both readers have their chunks ready
    assert sources.take(("nodes", "ways")) == ("nodes", "n1")
    assert sources.take(("nodes", "ways")) == ("ways", "w1")  # nodes exhausted: the other stream
    assert sources.exhausted("nodes") and not sources.exhausted("ways")
    assert sources.take(("ways", "nodes")) == ("ways", "w2")
    assert sources.take(("ways", "nodes")) is None
    sources.stop()


def test_sources_raise_a_stream_error_and_stop_the_other_streams():
    """A truncated file fails one reader: the importer gets its error, the other reader is closed."""
    from mapping.osm_import import _Sources

    closed = []

    def endless():
        try:
            while True:
                yield "n"
        finally:
            closed.append("nodes")

    def failing():
        yield "w"
        raise opl.OplError("PBF error: truncated data")

    sources = _Sources({"ways": failing(), "nodes": endless()})
    with pytest.raises(opl.OplError, match="truncated"):
        while sources.take(("ways", "nodes")):
            pass
    sources.stop()
    assert closed == ["nodes"]


def test_the_way_index_is_merged_only_when_its_pending_list_outgrows_the_default(tmp_path, monkeypatch):
    """A small import leaves its index entries pending, as ordinary inserts do; a large one merges."""
    from mapping import osm_import

    path = tmp_path / "tricky.osm"
    path.write_text(TRICKY_OSM, encoding="utf-8")
    merged = []
    monkeypatch.setattr(osm_import._PendingListMerge, "run", lambda self: merged.append(self.name))
    import_osm(path, "small")
    assert merged == []
    monkeypatch.setattr(osm_import, "GIN_MERGE_MIN_WAYS", 5)  # the file has 5 ways
    import_osm(path, "large")
    assert merged == ["gin-pending-merge"]


def test_after_ways_is_called_even_when_the_way_reader_ends_after_its_last_chunk(monkeypatch):
    """The reader's end can come after the importer took its last chunk: the callback still comes."""
    from mapping import osm_import

    def fake_stream(path, objects):
        if objects == "ways":
            yield "w1 v1 dV T N\n"
            time.sleep(0.3)  # the child is still exiting when the importer takes the chunk
        else:
            yield from ()

    class Feeder:
        queued_cost = 0

        def __init__(self):
            self.callbacks = []

        def after_written(self, callback):
            self.callbacks.append(callback)

    monkeypatch.setattr(osm_import.opl, "stream_opl", fake_stream)
    feeder = Feeder()
    assert list(osm_import._first_import_chunks("file.osm.pbf", feeder, print)) == ["w1 v1 dV T N\n"]
    assert feeder.callbacks == [print]


def test_tagged_nodes_carry_their_opl_text_in_utf8_and_untagged_ones_null():
    nodes = opl_binary.node_arrays(
        "n1 v1 dV Tname=Städtle,name:ja=ファドゥーツ x9.5 y47.1\nn2 v1 dV T x1 y2\n"
    )
    rows = _binary_fields(opl_binary.node_rows(nodes, 3))
    assert [r[6] for r in rows] == [" Tname=Städtle,name:ja=ファドゥーツ x9.5 y47.1".encode(), None]

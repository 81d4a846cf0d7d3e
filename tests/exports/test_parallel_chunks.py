"""Chunks built on two connections sharing one snapshot (exports.producer): the same file as one
connection writes, in file order, from one consistent state of the data, with bounded memory.

These tests commit their data (a second connection cannot see a test's open transaction), so they
are transactional and run last.
"""

from __future__ import annotations

import datetime as dt
import threading

import osmium
import psycopg
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from exports import producer, services
from exports.producer import Pass
from exports.selectors import LOCAL_ID_OFFSET
from exports.services import build_export
from exports.writers.pbf import PbfWriter
from mapping.models import Node, Relation, Way
from tests.factories import NodeFactory, TownFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.transactional]

TAGS = {"name": "Вадуц 瓦杜兹 فادوتس", "name:el": "Βαντούτς", "note": "a,b=c @d %e\\f\tg\nh", "emoji": "🚌"}
NODE_IDS = (5, -3, 1, -1, 9, 2, 7, 11, 12, 13, -2, 4)


def read_back(path) -> list[tuple[str, int, int, bool, dict]]:
    """Every object of a file in file order, as libosmium reads it."""
    return [(o.type_str(), o.id, o.version, o.visible, dict(o.tags)) for o in osmium.FileProcessor(str(path))]


def db_params() -> dict:
    return {
        k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")
    }


@pytest.fixture
def town():
    town = TownFactory(slug="parallel")
    for i, osm_id in enumerate(NODE_IDS):
        NodeFactory(town=town, osm_id=osm_id, version=i + 1, tags=TAGS if osm_id in (2, -2) else {},
                    geom=Point(9.52 + i / 1000, 47.14, srid=4326))  # fmt: skip
    NodeFactory(town=town, osm_id=8, tags={"amenity": "bench"})
    Node.objects.filter(town=town, osm_id=8).update(visible=False)  # deleted here
    Way.objects.create(town=town, osm_id=30, version=3, nodes=[1, 2, 5], tags={"highway": "path"})
    Way.objects.create(town=town, osm_id=-4, version=1, nodes=[-1, -3, 9], tags={"building": "yes"})
    Way.objects.create(town=town, osm_id=32, version=2, nodes=[11, 12, 13, 11], tags={"name": TAGS["name"]})
    Way.objects.create(town=town, osm_id=31, version=1, nodes=[7, 9], tags={"highway": "path"}, visible=False)
    members = [{"type": "way", "ref": -4, "role": "outer"}, {"type": "node", "ref": 2, "role": "label"}]
    Relation.objects.create(town=town, osm_id=40, version=7, members=members, tags={"type": "multipolygon"})
    return town


def serial(monkeypatch):
    monkeypatch.setattr(services, "PARALLEL_CONNECTIONS", False)


def spy_second_connections(monkeypatch) -> list[int]:
    """Count the second connections opened (the parallel path really ran)."""
    opened: list[int] = []
    real = producer.snapshot_connection

    def counting(params, snapshot):
        connect = real(params, snapshot)

        def wrapper():
            opened.append(1)
            return connect()

        return wrapper

    monkeypatch.setattr(producer, "snapshot_connection", counting)
    return opened


@pytest.mark.parametrize("fmt", ["pbf", "osm", "geojson"])
def test_two_connections_write_the_same_file_as_one(town, tmp_path, monkeypatch, fmt):
    opened = spy_second_connections(monkeypatch)
    parallel = tmp_path / f"parallel.{fmt}"
    monkeypatch.setattr(
        services, "CHUNK", 2
    )  # many chunks: both workers take turns, and kinds change mid-window
    monkeypatch.setattr(services, "GEOJSON_CHUNK", 1)
    result = build_export(town, fmt, parallel)
    assert opened == [1]
    monkeypatch.undo()
    serial(monkeypatch)
    one = tmp_path / f"one.{fmt}"
    assert build_export(town, fmt, one).counts == result.counts
    assert parallel.read_bytes() == one.read_bytes()


def test_order_ids_versions_tags_and_deleted_elements(town, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 3)
    path = tmp_path / "t.osm.pbf"
    result = build_export(town, "pbf", path)
    objects = read_back(path)
    local = [LOCAL_ID_OFFSET + i for i in (1, 2, 3)]
    assert [(t, i) for t, i, *_ in objects] == (
        [("n", i) for i in (1, 2, 4, 5, 7, 9, 11, 12, 13, *local)]
        + [("w", i) for i in (30, 32, LOCAL_ID_OFFSET + 4)]
        + [("r", 40)]
    )  # nodes, ways, relations; ids ascending; the deleted node 8 and way 31 left out
    assert result.counts == {"node": 12, "way": 3, "relation": 1}
    versions = {(t, i): v for t, i, v, _, _ in objects}
    assert (
        versions[("n", 9)] == NODE_IDS.index(9) + 1 and versions[("w", 30)] == 3 and versions[("r", 40)] == 7
    )
    assert all(visible for _, _, _, visible, _ in objects)
    tags = {(t, i): tg for t, i, _, _, tg in objects}
    assert tags[("n", 2)] == TAGS and tags[("n", LOCAL_ID_OFFSET + 2)] == TAGS
    assert tags[("w", 32)] == {"name": TAGS["name"]}
    members = [
        [(m.type, m.ref, m.role) for m in o.members]
        for o in osmium.FileProcessor(str(path))
        if o.type_str() == "r"
    ]
    assert members == [[("w", LOCAL_ID_OFFSET + 4, "outer"), ("n", 2, "label")]]


@pytest.mark.parametrize("fmt", ["pbf", "osm", "geojson"])
def test_an_empty_town_on_two_connections(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    result = build_export(TownFactory(slug="empty-parallel"), fmt, path)
    assert result.counts == {"node": 0, "way": 0, "relation": 0}
    if fmt != "geojson":
        assert read_back(path) == []


def test_both_connections_read_one_snapshot(town):
    """A node committed by someone else mid-export is in no chunk: both workers read the snapshot
    the build exported, not the data as it is when they get to their chunk."""
    line = "'n' || e.osm_id || E'\\n'"
    passes = [Pass("node", "mapping_node", "e.visible", line, negative=False)]
    with psycopg.connect(**db_params(), autocommit=True) as own:
        own.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = own.execute("SELECT pg_export_snapshot()").fetchone()[0]
        chunks = producer.chunks(own, passes, town.pk, 1, producer.snapshot_connection(db_params(), snapshot))
        first = next(chunks)
        NodeFactory(town=town, osm_id=10, tags={})  # committed (transactional test) while the export runs
        rest = list(chunks)
        own.execute("ROLLBACK")
    ids = [int(data[1:]) for _, _, data in [first, *rest]]
    assert ids == [1, 2, 4, 5, 7, 9, 11, 12, 13]  # positive ids, in order; 10 is not there


def test_memory_stays_at_a_few_chunks_whatever_the_town(town, monkeypatch):
    """Workers never get more than WINDOW chunks ahead of a slow writer."""
    line = "'n' || e.osm_id || E'\\n'"
    passes = [Pass("node", "mapping_node", "true", line, negative=n) for n in (True, False)]
    held = []
    with psycopg.connect(**db_params(), autocommit=True) as own:
        own.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = own.execute("SELECT pg_export_snapshot()").fetchone()[0]
        second = producer.snapshot_connection(db_params(), snapshot)
        chunks = producer._Chunks(producer._Plan(passes, town.pk, 1), own, second)
        for _ in chunks:
            threading.Event().wait(0.02)  # a slow encoder: the workers run ahead as far as allowed
            with chunks.cond:
                held.append(len(chunks.ready))
    assert len(held) == len(NODE_IDS) + 1  # every node, the deleted one too (filter "true")
    assert max(held) <= producer.WINDOW and max(held) >= 1


def test_a_failing_chunk_query_stops_the_export_and_closes_the_second_connection(town):
    # Fails at the first row, after half a second: the second connection is open by then.
    failing = "pg_sleep(0.5) IS NOT NULL AND e.osm_id / (e.osm_id - e.osm_id) = 1"
    passes = [Pass("node", "mapping_node", failing, "'x'", negative=False)]
    closed = []
    with psycopg.connect(**db_params(), autocommit=True) as own:
        own.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = own.execute("SELECT pg_export_snapshot()").fetchone()[0]
        connect = producer.snapshot_connection(db_params(), snapshot)

        def tracked():
            conn = connect()
            closed.append(conn)
            return conn

        with pytest.raises(psycopg.errors.DivisionByZero):
            list(producer.chunks(own, passes, town.pk, 2, tracked))
    assert closed and all(conn.closed for conn in closed)
    assert not [t for t in threading.enumerate() if t.name.startswith("export-chunks")]


def test_without_a_connection_to_spare_the_build_connection_writes_every_chunk(town, tmp_path, monkeypatch):
    serial(monkeypatch)
    one = tmp_path / "one.osm.pbf"
    build_export(town, "pbf", one)
    monkeypatch.undo()

    def refused(params, snapshot):
        def connect():
            raise psycopg.OperationalError("sorry, too many clients already")

        return connect

    monkeypatch.setattr(producer, "snapshot_connection", refused)
    monkeypatch.setattr(services, "CHUNK", 2)
    fallback = tmp_path / "fallback.osm.pbf"
    assert build_export(town, "pbf", fallback).counts == {"node": 12, "way": 3, "relation": 1}
    assert fallback.read_bytes() == one.read_bytes()


def test_a_writer_failing_mid_file_stops_the_workers_before_the_snapshot_ends(town, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 1)
    written = []
    real = PbfWriter._write

    def failing(self, kind, data):
        written.append(kind)
        if len(written) == 3:
            raise OSError("No space left on device")
        real(self, kind, data)

    monkeypatch.setattr(PbfWriter, "_write", failing)
    path = tmp_path / "full.osm.pbf"
    with pytest.raises(OSError, match="No space"):
        build_export(town, "pbf", path)
    assert not path.exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("export-chunks")]
    with psycopg.connect(**db_params()) as conn:  # the second connection is gone
        sessions = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]
    assert sessions == 0


@pytest.mark.parametrize("fmt", ["pbf", "osm"])
def test_timestamps_shared_or_not_are_written_as_stored(town, tmp_path, fmt):
    """The town's common timestamp is formatted once; every other one as before (same file)."""
    common, other, third = (dt.datetime(2026, 12, 7, h, 30, 15, tzinfo=dt.UTC) for h in (9, 10, 11))
    Node.objects.filter(town=town).update(updated_at=common)
    Node.objects.filter(town=town, osm_id__in=(5, -2)).update(updated_at=other)
    Way.objects.filter(town=town).update(updated_at=third)
    Relation.objects.filter(town=town).update(updated_at=common)
    path = tmp_path / f"times.{fmt}"
    build_export(town, fmt, path)
    written = {(o.type_str(), o.id): o.timestamp for o in osmium.FileProcessor(str(path))}
    local = (lambda i: LOCAL_ID_OFFSET - i) if fmt == "pbf" else (lambda i: i)
    expected = {
        ("n", local(n.osm_id) if n.osm_id < 0 else n.osm_id): n.updated_at
        for n in Node.objects.filter(town=town, visible=True)
    }
    expected |= {
        ("w", local(w.osm_id) if w.osm_id < 0 else w.osm_id): third
        for w in Way.objects.filter(town=town, visible=True)
    }
    expected[("r", 40)] = common
    assert written == expected
    assert written[("n", 5)] == other and written[("n", 1)] == common

"""Writer interface rules and the osmChange upload rules (changeset split, long ways)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.gis.geos import Point

from exports import changesets
from exports.changesets import _Line, pack_changesets, split_long_ways
from exports.services import build_export
from exports.writers.base import WriterError
from exports.writers.pbf import PbfWriter
from mapping.models import Node, Relation, Way
from tests.conftest import CENTRE_PBF
from tests.exports.conftest import osmium
from tests.exports.test_tools import normalised
from tests.factories import NodeFactory, TownFactory


def test_osm_writers_refuse_nodes_after_ways(tmp_path):
    writer = PbfWriter(tmp_path / "x.osm.pbf")
    writer.start()
    writer.write_chunk("way", b"w1 v1 dV c0 t i0 u T Nn1,n2\n")
    with pytest.raises(WriterError):
        writer.write_chunk("node", b"n1 v1 dV c0 t i0 u T x9.5 y47.1\n")
    writer.end()


def test_writer_reports_a_bad_chunk(tmp_path):
    writer = PbfWriter(tmp_path / "x.osm.pbf")
    writer.start()
    writer.write_chunk("node", b"this is not OPL\n")
    with pytest.raises(WriterError, match="OPL"):
        writer.end()


def test_abort_stops_the_encoder_and_removes_the_file(tmp_path):
    import threading

    target = tmp_path / "x.osm.pbf"
    writer = PbfWriter(target)
    writer.start()
    child = writer._child
    writer.write_chunk("node", b"n1 v1 dV c0 t i0 u T x9.5 y47.1\n")
    writer.abort()
    assert not target.exists()
    assert child.poll() is not None  # the encoder process is gone
    assert not [t for t in threading.enumerate() if t.name == "osmium-feeder"]


def _way(osm_id: int, refs: list[int], tags: str = "highway=footway") -> _Line:
    return _Line(
        "way",
        f"w{osm_id} v3 dV c0 t2024-01-01T00:00:00Z i0 u T{tags} N{','.join(f'n{r}' for r in refs)}\n".encode(),
        0,
    )


@pytest.mark.django_db
def test_long_line_is_split_as_id_does():
    """4,500 nodes -> 3 ways of at most 2,000 sharing end nodes; the first keeps the id; relations follow."""
    refs = list(range(1, 4501))
    relation = _Line(
        "relation", b"r9 v2 dV c0 t2024-01-01T00:00:00Z i0 u Ttype=route Mw5@forward,n7@stop\n", 1
    )
    out = split_long_ways([_way(5, refs), relation], town=None)
    ways = [line for line in out if line.kind == "way"]
    pieces = [[int(r[1:]) for r in re.search(rb" N(\S*)", w.opl).group(1).decode().split(",")] for w in ways]
    assert [len(p) for p in pieces] == [2000, 2000, 502]
    assert pieces[0][-1] == pieces[1][0] and pieces[1][-1] == pieces[2][0]
    assert sum(len(p) for p in pieces) - 2 == len(refs)
    assert ways[0].osm_id == 5 and ways[1].osm_id < 0 and ways[2].osm_id < 0
    assert b"Thighway=footway" in ways[2].opl and b" v1 " in ways[2].opl
    members = re.search(rb" M(\S*)", next(x for x in out if x.kind == "relation").opl).group(1).decode()
    assert members == f"w5@forward,w{ways[1].osm_id}@forward,w{ways[2].osm_id}@forward,n7@stop"


@pytest.mark.django_db
def test_long_area_becomes_a_multipolygon():
    refs = [*range(1, 2600), 1]
    out = split_long_ways([_way(6, refs, "building=yes")], town=None)
    ways = [line for line in out if line.kind == "way"]
    (rel,) = [line for line in out if line.kind == "relation"]
    assert all(b" T " in w.opl for w in ways)  # tags moved to the relation
    assert b"building=yes,type=multipolygon" in rel.opl
    assert rel.opl.count(b"@outer") == len(ways) == 2


def test_changesets_never_separate_new_elements_from_their_users():
    nodes = [_Line("node", f"n-{i} v1 dV c0 t i0 u T x9.5 y47.1\n".encode(), i) for i in range(1, 5)]
    way = _Line("way", b"w-10 v1 dV c0 t i0 u T Nn-1,n-2,n-3\n", 5)
    lonely = _Line("node", b"n44 v2 dV c0 t i0 u T x9.5 y47.1\n", 6)
    changesets = pack_changesets([*nodes, way, lonely], limit=4)
    together = next(cs for cs in changesets if way in cs)
    assert {line.osm_id for line in together if line.kind == "node"} >= {-1, -2, -3}
    assert all(len(cs) <= 4 for cs in changesets)
    assert sorted(len(cs) for cs in changesets) == [2, 4]


@pytest.mark.django_db
def test_split_changesets_apply_in_order_to_the_full_export(edited_centre, tmp_path, monkeypatch):
    monkeypatch.setattr(changesets, "MAX_CHANGESET_CHANGES", 4)
    osc = tmp_path / "c.osc"
    result = build_export(edited_centre.town, "osc", osc)
    files = [p for p in result.paths if p.suffix == ".osc"]
    assert len(files) > 1 and files[0] == osc and files[1].name == "c.2.osc"
    meta = json.loads((tmp_path / "c.changesets.json").read_text())
    assert [c["file"] for c in meta["changesets"]] == [p.name for p in files]
    assert all(c["changes"] <= 4 or c["actions"]["create"] == c["changes"] for c in meta["changesets"])
    full = tmp_path / "full.osm"
    build_export(edited_centre.town, "osm", full)
    applied = tmp_path / "applied.osm"
    osmium("apply-changes", CENTRE_PBF, *files, "-o", applied)
    a, b = normalised(applied, tmp_path / "a.opl"), normalised(full, tmp_path / "b.opl")
    assert osmium("diff", "-q", a, b, check=False).returncode == 0


@pytest.mark.django_db
def test_created_long_way_is_split_in_the_osmchange(tmp_path):
    town = TownFactory()
    refs = []
    for i in range(2300):
        NodeFactory(
            town=town,
            osm_id=-100_000 - i,
            version=1,
            base_version=None,
            tags={},
            geom=Point(9.5 + i * 1e-5, 47.1, srid=4326),
        )
        refs.append(-100_000 - i)
    Way.objects.create(town=town, osm_id=-99_999, version=1, nodes=refs, tags={"highway": "path"})
    osc = tmp_path / "long.osc"
    build_export(town, "osc", osc)
    text = osc.read_text()
    ways = re.findall(r"<way .*?</way>", text, flags=re.S)
    assert len(ways) == 2 and all(w.count("<nd ") <= 2000 for w in ways)
    assert Node.objects.filter(town=town).count() == 2300 and not Relation.objects.filter(town=town).exists()

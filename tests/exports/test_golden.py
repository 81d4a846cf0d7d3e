"""Golden files: the exact bytes of a tiny hand-made town in every format (tests/data/expected/).

Regenerate after an intended change with CARTOPARTY_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from exports.services import build_export
from mapping.models import Node, Relation, Way
from mapping.store.derived import rebuild_way_geometries
from tests.exports.conftest import FIXED
from tests.factories import NodeFactory, TownFactory

EXPECTED = Path(__file__).parents[1] / "data" / "expected"
pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_town():
    """Three imported nodes, an imported way, a relation; a local bench; a modified and a deleted node."""
    town = TownFactory(slug="tiny", name="Tiny")
    for osm_id, lon, lat, tags, version, base in (
        (1, 9.5200, 47.1400, {}, 1, 1),
        (2, 9.5205, 47.1401, {"highway": "crossing", "crossing": "zebra"}, 3, 2),  # modified here
        (3, 9.5210, 47.1402, {}, 1, 1),
        (4, 9.5215, 47.1403, {"amenity": "post_box"}, 5, 4),  # deleted here
        (-7, 9.5208, 47.1405, {"amenity": "bench", "name": 'Banc "du marché" & <co>, à l=1@x'}, 1, None),
    ):
        NodeFactory(
            town=town,
            osm_id=osm_id,
            geom=Point(lon, lat, srid=4326),
            tags=tags,
            version=version,
            base_version=base,
        )
    Node.objects.filter(town=town, osm_id=4).update(visible=False)
    way = Way.objects.create(
        town=town,
        osm_id=10,
        version=2,
        base_version=2,
        nodes=[1, 2, 3],
        tags={"highway": "residential", "name": "Städtle"},
    )
    Relation.objects.create(
        town=town,
        osm_id=20,
        version=1,
        base_version=1,
        tags={"type": "route", "route": "bus", "ref": "12"},
        members=[{"type": "way", "ref": 10, "role": ""}, {"type": "node", "ref": 2, "role": "stop"}],
    )
    rebuild_way_geometries([way.pk])
    for model in (Node, Way, Relation):
        model.objects.filter(town=town).update(updated_at=FIXED)
    return town


@pytest.mark.parametrize(
    "fmt,name",
    [("osm", "tiny.osm"), ("osc", "tiny.osc"), ("geojson", "tiny.geojson"), ("pbf", "tiny.osm.pbf")],
)
def test_golden(tiny_town, tmp_path, fmt, name):
    out = tmp_path / name
    build_export(tiny_town, fmt, out)
    golden = EXPECTED / name
    if os.environ.get("CARTOPARTY_UPDATE_GOLDEN"):
        golden.write_bytes(out.read_bytes())
    assert out.read_bytes() == golden.read_bytes()

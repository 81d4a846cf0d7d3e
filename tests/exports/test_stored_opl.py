"""Exports read each element's content as the import stored it (the ``opl`` column, mapping
migration 0012), and never a copy an edit has made stale, whichever path wrote the edit."""

from __future__ import annotations

import osmium
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from exports.services import build_export
from mapping.models import Node, Way
from mapping.store import apply_change
from tests.factories import NodeFactory, TownFactory

pytestmark = pytest.mark.django_db


def stored(table: str, osm_id: int) -> str | None:
    with connection.cursor() as cur:
        cur.execute(f"SELECT opl FROM {table} WHERE osm_id = %s", [osm_id])
        return cur.fetchone()[0]


def store_opl(table: str, osm_id: int, text: str) -> None:
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET opl = %s WHERE osm_id = %s", [text, osm_id])


def exported(town, tmp_path) -> dict[tuple[str, int], dict[str, str]]:
    path = tmp_path / "t.osm.pbf"
    build_export(town, "pbf", path)
    return {(o.type_str(), o.id): dict(o.tags) for o in osmium.FileProcessor(str(path))}


@pytest.fixture
def town():
    town = TownFactory(slug="stored")
    for osm_id in (1, 2):
        NodeFactory(town=town, osm_id=osm_id, tags={"amenity": "bench"}, geom=Point(9.52, 47.14, srid=4326))
    Way.objects.create(town=town, osm_id=10, version=1, nodes=[1, 2], tags={"highway": "path"})
    return town


def test_the_export_writes_the_stored_content(town, tmp_path):
    store_opl("mapping_node", 1, " Tamenity=bench,name=As%20%imported x9.52 y47.14")
    store_opl("mapping_way", 10, " Thighway=path,name=As%20%imported Nn1,n2")
    objects = exported(town, tmp_path)
    assert objects[("n", 1)] == {"amenity": "bench", "name": "As imported"}
    assert objects[("w", 10)] == {"highway": "path", "name": "As imported"}
    assert objects[("n", 2)] == {"amenity": "bench"}  # nothing stored: formatted from its columns


def test_an_edit_through_the_store_makes_the_stored_content_stale(town, tmp_path):
    store_opl("mapping_node", 1, " Tamenity=bench x9.52 y47.14")
    store_opl("mapping_way", 10, " Thighway=path Nn1,n2")
    apply_change(town=town, element_type="node", element_id=1, action="modify", base_version=1,
                 after={"tags": {"amenity": "bench", "backrest": "yes"},
                        "geometry": {"type": "Point", "coordinates": [9.521, 47.14]}})  # fmt: skip
    apply_change(town=town, element_type="way", element_id=10, action="modify", base_version=1,
                 after={"tags": {"highway": "footway"}, "nodes": [[1, 9.521, 47.14], [2, 9.52, 47.14]]})  # fmt: skip
    assert stored("mapping_node", 1) is None and stored("mapping_way", 10) is None
    objects = exported(town, tmp_path)
    assert objects[("n", 1)] == {"amenity": "bench", "backrest": "yes"}
    assert objects[("w", 10)] == {"highway": "footway"}


@pytest.mark.parametrize(
    "change",
    [
        lambda: Node.objects.filter(osm_id=1).update(tags={"amenity": "waste_basket"}),
        lambda: Node.objects.filter(osm_id=1).update(geom=Point(9.6, 47.2, srid=4326)),
        lambda: Way.objects.filter(osm_id=10).update(nodes=[2, 1]),
    ],
)
def test_any_write_of_new_content_makes_it_stale(town, change):
    store_opl("mapping_node", 1, " Tamenity=bench x9.52 y47.14")
    store_opl("mapping_way", 10, " Thighway=path Nn1,n2")
    change()
    assert None in (stored("mapping_node", 1), stored("mapping_way", 10))


def test_a_save_that_changes_no_content_keeps_it(town):
    store_opl("mapping_node", 1, " Tamenity=bench x9.52 y47.14")
    node = Node.objects.get(osm_id=1)
    node.version = 2
    node.save()  # every column written again, the content unchanged
    Node.objects.filter(osm_id=1).update(visible=False)
    assert stored("mapping_node", 1) == " Tamenity=bench x9.52 y47.14"

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


TOWN = "stored"


def stored(table: str, osm_id: int) -> str | None:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT opl FROM {table} e JOIN parties_town t ON t.id = e.town_id WHERE t.slug = %s AND osm_id = %s",
            [TOWN, osm_id],
        )
        return cur.fetchone()[0]


def store_opl(table: str, osm_id: int, text: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} e SET opl = %s FROM parties_town t WHERE t.id = e.town_id AND t.slug = %s"
            " AND osm_id = %s",
            [text, TOWN, osm_id],
        )


def exported(town, tmp_path) -> dict[tuple[str, int], dict[str, str]]:
    path = tmp_path / "t.osm.pbf"
    build_export(town, "pbf", path)
    return {(o.type_str(), o.id): dict(o.tags) for o in osmium.FileProcessor(str(path))}


@pytest.fixture
def town():
    town = TownFactory(slug=TOWN)
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
        lambda: Node.objects.filter(town__slug=TOWN, osm_id=1).update(tags={"amenity": "waste_basket"}),
        lambda: Node.objects.filter(town__slug=TOWN, osm_id=1).update(geom=Point(9.6, 47.2, srid=4326)),
        lambda: Way.objects.filter(town__slug=TOWN, osm_id=10).update(nodes=[2, 1]),
    ],
)
def test_any_write_of_new_content_makes_it_stale(town, change):
    store_opl("mapping_node", 1, " Tamenity=bench x9.52 y47.14")
    store_opl("mapping_way", 10, " Thighway=path Nn1,n2")
    change()
    assert None in (stored("mapping_node", 1), stored("mapping_way", 10))


def test_a_save_that_changes_no_content_keeps_it(town):
    store_opl("mapping_node", 1, " Tamenity=bench x9.52 y47.14")
    node = Node.objects.get(town__slug=TOWN, osm_id=1)
    node.version = 2
    node.save()  # every column written again, the content unchanged
    Node.objects.filter(town__slug=TOWN, osm_id=1).update(visible=False)
    assert stored("mapping_node", 1) == " Tamenity=bench x9.52 y47.14"


def content(path) -> list[tuple]:
    """Every object of a file with what it holds (tags in any order)."""
    out = []
    for o in osmium.FileProcessor(str(path)):
        extra: object = None
        if o.is_node():
            extra = (o.location.lon, o.location.lat)
        elif o.is_way():
            extra = [n.ref for n in o.nodes]
        else:
            extra = [(m.type, m.ref, m.role) for m in o.members]
        out.append((o.type_str(), o.id, o.version, dict(o.tags), extra))
    return out


def test_the_demo_town_exports_the_same_objects_from_what_the_import_stored(vaduz, tmp_path):
    """Real data: whatever the importer stored for the demo extract, the file holds exactly the
    objects formatting the columns gives."""
    with connection.cursor() as cur:
        for table, at_least in (("mapping_node", 1500), ("mapping_way", 7000), ("mapping_relation", 100)):
            cur.execute(f"SELECT count(*) FROM {table} WHERE town_id = %s AND opl IS NOT NULL", [vaduz.pk])
            assert cur.fetchone()[0] > at_least  # the importer stored them (nodes: the tagged ones)
    stored_path, formatted_path = tmp_path / "stored.osm.pbf", tmp_path / "formatted.osm.pbf"
    build_export(vaduz, "pbf", stored_path)
    with connection.cursor() as cur:
        for table in ("mapping_node", "mapping_way", "mapping_relation"):
            cur.execute(f"UPDATE {table} SET opl = NULL WHERE town_id = %s", [vaduz.pk])
    build_export(vaduz, "pbf", formatted_path)
    assert content(stored_path) == content(formatted_path)

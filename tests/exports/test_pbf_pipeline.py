"""The OSM file pipeline (PostgreSQL's OPL chunks -> a feeding thread -> the encoder child process):
order, chunk boundaries, invisible elements, an empty town, tags in any script."""

from __future__ import annotations

import osmium
import pytest
from django.contrib.gis.geos import Point

from exports import services
from exports.selectors import LOCAL_ID_OFFSET
from exports.services import build_export
from mapping.models import Node, Way
from tests.factories import NodeFactory, TownFactory

pytestmark = pytest.mark.django_db

TAGS = {"name": "Вадуц 瓦杜兹 فادوتس", "name:el": "Βαντούτς", "note": "a,b=c @d %e\\f\tg", "emoji": "🚌"}


def read_back(path) -> list[tuple[str, int, bool, dict]]:
    """Every object of a file in file order, as libosmium reads it."""
    return [(o.type_str(), o.id, o.visible, dict(o.tags)) for o in osmium.FileProcessor(str(path))]


@pytest.fixture
def town():
    town = TownFactory(slug="pipeline")
    for i, osm_id in enumerate((5, -3, 1, -1, 9, 2, 7)):
        NodeFactory(town=town, osm_id=osm_id, tags=TAGS if osm_id == 2 else {},
                    geom=Point(9.52 + i / 1000, 47.14, srid=4326))  # fmt: skip
    NodeFactory(town=town, osm_id=8, tags={"amenity": "bench"})
    Node.objects.filter(town=town, osm_id=8).update(visible=False)  # deleted here
    Way.objects.create(town=town, osm_id=30, version=1, nodes=[1, 2, 5], tags={"highway": "path"})
    Way.objects.create(town=town, osm_id=-4, version=1, nodes=[-1, -3, 9], tags={"building": "yes"})
    Way.objects.create(
        town=town, osm_id=31, version=1, nodes=[7, 9], tags={"name": TAGS["name"]}, visible=False
    )
    return town


@pytest.mark.parametrize("fmt", ["pbf", "osm"])
def test_order_invisible_elements_and_tags_in_any_script(town, tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    result = build_export(town, fmt, path)
    objects = read_back(path)
    local = (lambda i: LOCAL_ID_OFFSET + i) if fmt == "pbf" else (lambda i: -i)
    nodes = [1, 2, 5, 7, 9, local(1), local(3)] if fmt == "pbf" else [-1, -3, 1, 2, 5, 7, 9]
    assert [(t, i) for t, i, _, _ in objects] == [("n", i) for i in nodes] + [
        ("w", w) for w in ([30, local(4)] if fmt == "pbf" else [-4, 30])
    ]
    assert all(visible for _, _, visible, _ in objects)  # the deleted node 8 and way 31 are left out
    assert result.counts == {"node": 7, "way": 2, "relation": 0}
    assert next(tags for t, i, _, tags in objects if (t, i) == ("n", 2)) == TAGS


@pytest.mark.parametrize("fmt", ["pbf", "osm"])
def test_chunk_boundaries_do_not_change_the_file(town, tmp_path, monkeypatch, fmt):
    whole = tmp_path / f"whole.{fmt}"
    build_export(town, fmt, whole)
    # Chunks of 2 elements: boundaries inside every kind, a lone last chunk, positive then local ids.
    monkeypatch.setattr(services, "CHUNK", 2)
    pieces = tmp_path / f"pieces.{fmt}"
    result = build_export(town, fmt, pieces)
    assert result.counts == {"node": 7, "way": 2, "relation": 0}
    assert pieces.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("fmt", ["pbf", "osm"])
def test_an_empty_town_gives_a_valid_empty_file(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    result = build_export(TownFactory(slug="empty"), fmt, path)
    assert result.counts == {"node": 0, "way": 0, "relation": 0}
    assert read_back(path) == []


# Tags built to break the OPL text made from ``tags::text`` (exports.selectors._TAGS): separators,
# braces and escapes as content, OPL's own escape syntax as content, with and without a backslash
# (a backslash sends the element through the other path).
AWKWARD_TAGS = [
    {"name": 'a", "b', "note": 'x": "y'},
    {"name": 'ends with ", ', "k": "v"},
    {'{"': "}", "a": '{"b": "c"}'},
    {"name": "%20% %2c% %3d% %40% %25%", "x": "100%"},
    {"name": "a=b,c=d @e", " lead": "trail "},
    {"empty": "", "name": "Γειά σου, κόσμε"},
    {"name": "back\\slash", "path": "C:\\dir\\", "q": '"'},
    {"name": "line\nbreak\ttab\rreturn"},  # (edits refuse control characters; imports may hold these)
    {"name": 'mix \\", "', "w": "x"},
]


@pytest.mark.parametrize("fmt", ["pbf", "osm"])
def test_awkward_tags_come_back_exactly(tmp_path, fmt):
    town = TownFactory(slug="awkward")
    for i, tags in enumerate(AWKWARD_TAGS, 1):
        NodeFactory(town=town, osm_id=i, tags=tags, geom=Point(9.52 + i / 1000, 47.14, srid=4326))
    Way.objects.create(town=town, osm_id=100, version=1, nodes=[1, 2], tags=AWKWARD_TAGS[0])
    path = tmp_path / f"t.{fmt}"
    build_export(town, fmt, path)
    objects = {(t, i): tags for t, i, _, tags in read_back(path)}
    assert [objects[("n", i)] for i in range(1, len(AWKWARD_TAGS) + 1)] == AWKWARD_TAGS
    assert objects[("w", 100)] == AWKWARD_TAGS[0]

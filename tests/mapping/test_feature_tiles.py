"""Map-data tiles: same content as the bbox query, served from the cache, invalidated exactly by an
accepted change, revalidated with 304, bad coordinates refused with a reason."""

from __future__ import annotations

import gzip
import json
import math
import threading
from pathlib import Path

import pytest
from django.urls import reverse

from mapping.feature_tiles import MAX_TILE_ZOOM, Tile, tile_ranges, tile_zoom
from mapping.models import Node, Way
from mapping.selectors import features_geojson_for_town
from review import services as review
from tests.factories import AgentFactory, NodeFactory, PartyFactory, RevisionFactory, TownFactory, publish

STADTLE = (9.5209, 47.1410)  # Vaduz, Städtle: in the centre_town extract


def tile_at(lon: float, lat: float, z: int) -> Tile:
    n = 1 << z
    x = math.floor((lon + 180) / 360 * n)
    y = math.floor((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return Tile(z, x, y)


def tile_url(town, tile: Tile) -> str:
    return reverse(
        "mapping:town-feature-tile", kwargs={"slug": town.slug, "z": tile.z, "x": tile.x, "y": tile.y}
    )


def ids(response) -> set[str]:
    return {f["id"] for f in json.loads(response.content)["features"]}


@pytest.mark.django_db
@pytest.mark.parametrize("zoom", [15, 13, 11])
def test_a_tile_holds_exactly_what_the_bbox_query_gives_for_its_area(client, centre_town, zoom):
    """512-pixel tiles: tile z/x/y holds the data of map zoom z + 1 over the area of z/x/y."""
    tile = tile_at(*STADTLE, zoom)
    resp = client.get(tile_url(centre_town, tile))
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/geo+json"
    expected = json.loads(features_geojson_for_town(centre_town, tile.bbox(), zoom + 1))
    assert json.loads(resp.content) == expected
    if zoom == 15:
        assert {"building", "road", "poi"} <= {f["properties"]["category"] for f in expected["features"]}


def test_tile_areas_follow_the_web_mercator_grid():
    """The same grid as the base tiles: z0 is the world, and the tile the Städtle falls in contains it.
    Maps at zoom 16 and closer all use the zoom-15 tiles (every feature, unsimplified)."""
    assert [tile_zoom(z) for z in (0, 1, 12, 15, 16, 17, 20)] == [0, 0, 11, 14, 15, 15, 15]
    world = Tile(0, 0, 0).bbox()
    assert (world.west, world.east) == (-180, 180) and world.north == pytest.approx(85.0511287798)
    box = tile_at(*STADTLE, 15).bbox()
    assert box.west < STADTLE[0] < box.east and box.south < STADTLE[1] < box.north
    assert tile_ranges((STADTLE[0], STADTLE[1], STADTLE[0], STADTLE[1]), 15) == (
        range(tile_at(*STADTLE, 15).x, tile_at(*STADTLE, 15).x + 1),
        range(tile_at(*STADTLE, 15).y, tile_at(*STADTLE, 15).y + 1),
    )


@pytest.mark.django_db
def test_a_cached_tile_is_served_without_any_query(client, centre_town, django_assert_num_queries):
    url = tile_url(centre_town, tile_at(*STADTLE, 15))
    first = client.get(url)
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    assert second.content == first.content and second["ETag"] == first["ETag"]


@pytest.mark.django_db
def test_an_unchanged_tile_is_a_304_for_a_browser_that_has_it(client, centre_town):
    url = tile_url(centre_town, tile_at(*STADTLE, 15))
    first = client.get(url)
    assert first["Cache-Control"] == "public, no-cache"  # kept, and revalidated on every use
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    stale = client.get(url, headers={"If-None-Match": '"0123456789abcdef"'})
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.django_db
def test_browsers_get_the_tile_gzipped(client, centre_town):
    """The cache keeps tiles gzipped; a browser (Accept-Encoding: gzip) gets those bytes as they are."""
    url = tile_url(centre_town, tile_at(*STADTLE, 15))
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) * 3 < len(plain.content)
    assert zipped["ETag"] == plain["ETag"] and "Accept-Encoding" in zipped["Vary"]
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused and refused.content == plain.content


@pytest.mark.django_db
def test_viewers_asking_for_a_tile_being_built_wait_for_that_build(centre_town, django_assert_num_queries):
    """No stampede on a missing tile: while one request builds it, the others wait for its answer."""
    from django.core.cache import cache

    from mapping import feature_tiles

    tile = tile_at(*STADTLE, 15)
    feature_tiles.feature_tile(centre_town.slug, tile)
    body_key = feature_tiles._body_key(centre_town.slug, tile)
    stamp, _answer = cache.get(body_key)
    cache.delete(body_key)  # as if it had just expired...
    cache.add(f"{body_key}:building:{stamp[0]}:{stamp[1]}", 1, 5)  # ...and another request were building it
    theirs = feature_tiles.TileAnswer(
        gzip.compress(b'{"type":"FeatureCollection","features":[]}'), 'W/"theirs"'
    )
    timer = threading.Timer(0.1, lambda: cache.set(body_key, (stamp, theirs), 60))
    timer.start()
    with django_assert_num_queries(1):  # the town is looked up; the features are not queried again
        assert feature_tiles.feature_tile(centre_town.slug, tile) == theirs
    timer.join()


def publish_node(town, lon: float, lat: float, tags: dict | None = None) -> Node:
    return publish(
        town,
        "node",
        {"tags": tags or {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}},
    )


@pytest.mark.django_db
def test_an_accepted_change_renews_exactly_the_tiles_it_touches(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    town = TownFactory()
    near, far = tile_at(*STADTLE, 15), tile_at(STADTLE[0] + 0.05, STADTLE[1], 15)
    overview = tile_at(*STADTLE, 11)
    for tile in (near, far, overview):
        client.get(tile_url(town, tile))
    with django_capture_on_commit_callbacks(execute=True):  # published_change is sent on commit
        node = publish_node(town, *STADTLE)
    assert ids(client.get(tile_url(town, near))) == {f"node/{node.osm_id}"}
    with django_assert_num_queries(0):  # a tile far from the change stays cached
        assert ids(client.get(tile_url(town, far))) == set()
    with django_assert_num_queries(2):  # rebuilt at every zoom: the town, then its features
        client.get(tile_url(town, overview))


@pytest.mark.django_db
def test_a_moved_vertex_renews_every_tile_its_long_way_is_in(client, django_capture_on_commit_callbacks):
    """Tiles carry whole features: moving the west end of a road changes it in its eastern tiles too."""
    town = TownFactory()
    way = publish(
        town,
        "way",
        {"tags": {"highway": "residential"}, "nodes": [[None, 9.500, 47.140], [None, 9.540, 47.1405]]},
    )
    east = tile_at(9.5395, 47.1404, 15)
    assert tile_at(9.500, 47.140, 15).x + 2 < east.x
    url = tile_url(town, east)
    assert len(ids(client.get(url))) == 1
    west_node = Node.objects.get(town=town, osm_id=way.nodes[0])
    with django_capture_on_commit_callbacks(execute=True):
        publish(
            town,
            "node",
            {"tags": {}, "geometry": {"type": "Point", "coordinates": [9.499, 47.139]}},
            west_node,
        )
    (feature,) = json.loads(client.get(url).content)["features"]
    assert feature["geometry"]["coordinates"][0] == [9.499, 47.139]


@pytest.mark.django_db
def test_accepting_a_revision_in_review_shows_on_the_tile(client, django_capture_on_commit_callbacks):
    party = PartyFactory()
    tile = tile_at(*STADTLE, 15)
    assert ids(client.get(tile_url(party.town, tile))) == set()
    revision = RevisionFactory(party=party)  # a new bench at the Städtle
    with django_capture_on_commit_callbacks(execute=True):
        review.accept_revision(revision, AgentFactory(town=party.town))
    assert ids(client.get(tile_url(party.town, tile))) == {f"node/{revision.element_id}"}


@pytest.mark.django_db
def test_tiles_show_only_their_own_towns_data(client):
    mine, other = TownFactory(), TownFactory()
    NodeFactory(town=other)  # a bench at the Städtle
    tile = tile_at(*STADTLE, 15)
    assert ids(client.get(tile_url(mine, tile))) == set()
    assert len(ids(client.get(tile_url(other, tile)))) == 1
    assert client.get(tile_url(TownFactory.build(slug="nowhere"), tile)).status_code == 404


@pytest.mark.django_db
def test_a_crowded_tile_asks_to_zoom_in(client, centre_town, settings):
    settings.CARTOPARTY_MAX_FEATURES = 10
    resp = client.get(tile_url(centre_town, tile_at(*STADTLE, 15)))
    assert resp.status_code == 400
    assert "zoom in" in resp.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("z", "x", "y", "reason"),
    [
        ("a", "1", "1", "whole numbers"),
        ("16", "1.5", "1", "whole numbers"),
        ("16", "-1", "1", "whole numbers"),
        ("1_6", "1", "1", "whole numbers"),
        ("16", "99999999999", "1", "whole numbers"),
        (str(MAX_TILE_ZOOM + 1), "0", "0", "closer views use the zoom 15 tiles"),
        ("2", "4", "0", "x and y go from 0 to 3"),
        ("2", "0", "4", "x and y go from 0 to 3"),
    ],
)
def test_bad_tile_coordinates_are_400_with_a_reason(client, z, x, y, reason):
    town = TownFactory()
    url = reverse("mapping:town-feature-tile", kwargs={"slug": town.slug, "z": z, "x": x, "y": y})
    resp = client.get(url)
    assert resp.status_code == 400
    assert reason in resp.json()["error"]


@pytest.mark.django_db
def test_way_geometry_changes_are_announced_with_the_dependent_ways(django_capture_on_commit_callbacks):
    """published_change covers the other ways a moved node reshapes (their whole extent)."""
    from mapping.signals import published_change

    town = TownFactory()
    way = publish(
        town, "way", {"tags": {"highway": "service"}, "nodes": [[None, 9.50, 47.14], [None, 9.53, 47.15]]}
    )
    node = Node.objects.get(town=town, osm_id=way.nodes[1])
    seen = []
    published_change.connect(
        lambda sender, **kw: seen.append(kw["bbox"]), dispatch_uid="test-tiles", weak=False
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publish(
                town,
                "node",
                {"tags": {"name": "End"}, "geometry": {"type": "Point", "coordinates": [9.53, 47.15]}},
                node,
            )
    finally:
        published_change.disconnect(dispatch_uid="test-tiles")
    # A tag-only change of the end node: the way's shape did not change, so only the node's point.
    assert seen == [(9.53, 47.15, 9.53, 47.15)]
    assert Way.objects.get(pk=way.pk).geom.extent == pytest.approx((9.50, 47.14, 9.53, 47.15))


def test_the_page_script_stops_at_the_same_data_zoom_as_the_server():
    """feature-tiles.js computes tile coordinates itself: its last data zoom must be the server's."""
    from django.contrib.staticfiles import finders

    script = Path(finders.find("mapping/js/feature-tiles.js")).read_text(encoding="utf-8")
    assert f"const MAX_TILE_ZOOM = {MAX_TILE_ZOOM};" in script

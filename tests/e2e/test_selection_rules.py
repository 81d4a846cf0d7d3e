"""The selection rule (mapping/static/mapping/js/selection.js) as pure functions, run in the browser.

The ES module is imported, as the pages import it, from the live server's static files (no page of
the app: no database), and called on hand-written features, in screen pixels with an identity
projection (lon = x, lat = y), so each case reads as a drawing. tests/js/selection.test.js runs the
same module in Node.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

MODULE = "/static/mapping/js/selection.js"


def point(fid, x, y, **tags):
    return {"type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"osm_type": "node", "tags": tags}}  # fmt: skip


def line(fid, coords, **tags):
    return {"type": "Feature", "id": fid, "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"osm_type": "way", "tags": tags}}  # fmt: skip


def square(fid, x0, y0, size, osm_type="way", **tags):
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Feature", "id": fid, "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"osm_type": osm_type, "tags": tags}}  # fmt: skip


@pytest.fixture
def rules(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}{MODULE}")
    page.evaluate("async (url) => { window.selection = await import(url); }", MODULE)

    def pick(features, x, y, tolerance=5):
        return page.evaluate(
            "([fs, x, y, t]) => { const f = selection.pick(fs, [x, y], (c) => c, t); return f && f.id; }",
            [features, x, y, tolerance],
        )

    page.pick = pick
    yield page
    context.close()


def test_points_before_lines_before_areas(rules):
    shop = square("shop", 0, 0, 100, shop="bakery")
    road = line("road", [[0, 50], [100, 50]], highway="residential")
    bench = point("bench", 52, 50, amenity="bench")
    features = [bench, road, shop]
    assert rules.pick(features, 50, 50) == "bench"
    assert rules.pick(features, 20, 51) == "road"
    assert rules.pick(features, 20, 20) == "shop"  # nothing smaller there: the inside picks the area
    assert rules.pick(features, 300, 300) is None


def test_an_area_outline_comes_before_the_inside_of_a_smaller_area(rules):
    big = square("big", 0, 0, 100, amenity="school")
    small = square("small", 40, 40, 20, building="yes")
    assert rules.pick([small, big], 50, 50) == "small"  # inside both: the smaller one
    assert rules.pick([small, big], 2, 50) == "big"  # on the big one's outline
    assert rules.pick([small, big], 40, 50) == "small"  # on the small one's outline


def test_vertices_come_after_points(rules):
    """A tagged node on a way (a crossing) is a vertex: a free-standing point near it wins."""
    road = line("road", [[0, 10], [10, 10], [20, 10]], highway="residential")
    crossing = point("crossing", 10, 10, highway="crossing")
    bench = point("bench", 13, 10, amenity="bench")
    assert rules.pick([road, crossing, bench], 10, 10) == "bench"
    assert rules.pick([road, crossing], 10, 10) == "crossing"  # before the line it is on
    crossing_alone = point("crossing", 10, 10, highway="crossing")  # not on a loaded way: a point
    assert rules.pick([crossing_alone, bench], 10, 10) == "crossing"


def test_boundaries_routes_and_large_landuse_never_catch_a_tap(rules):
    district = square("district", 0, 0, 100, osm_type="relation", type="boundary", boundary="administrative")
    route = line("route", [[0, 50], [100, 50]], type="route", route="bus")
    route["properties"]["osm_type"] = "relation"
    # 0.01° a side near the equator: about 1.2 km², a large landuse area.
    fields = {
        "type": "Feature",
        "id": "fields",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]],
        },
        "properties": {"osm_type": "way", "tags": {"landuse": "farmland"}},
    }
    assert rules.pick([district, route], 50, 50) is None
    assert rules.pick([district, route], 1, 50) is None  # its outline neither
    assert rules.pick([fields], 0.005, 0.005, 0.0001) is None
    assert rules.evaluate("(f) => selection.kind(f)", fields) is None
    # A small landuse patch (a 30 m square) is an ordinary area; a multipolygon relation too.
    patch = square("patch", 0, 0, 0.0003, landuse="grass")
    assert rules.pick([patch], 0.00015, 0.00015, 0.00001) == "patch"
    lake = square("lake", 0, 0, 100, osm_type="relation", type="multipolygon", natural="water")
    assert rules.pick([lake], 50, 50) == "lake"


def test_draw_order_puts_boundaries_and_large_areas_under_lines_under_points(rules):
    features = [
        point("p", 1, 1, amenity="bench"),
        square("small", 0, 0, 10, building="yes"),
        line("l", [[0, 0], [1, 1]], highway="footway"),
        square("big", 0, 0, 100, leisure="park"),
        square("boundary", 0, 0, 1000, osm_type="relation", boundary="administrative"),
    ]
    order = rules.evaluate("(fs) => selection.drawOrder(fs).map((f) => f.id)", features)
    assert order == ["boundary", "big", "small", "l", "p"]


def test_area_in_square_metres(rules):
    # 0.001° x 0.001° at the equator: 111.3 m x 110.6 m on the sphere of radius 6378137 m.
    area = rules.evaluate("(f) => selection.areaM2(f.geometry)", square("s", 0, 0, 0.001, building="yes"))
    assert 12300 < area < 12500


def test_boundaries_are_drawn_as_outlines_only(rules):
    styles = {"landuse": {"color": "green", "fillOpacity": 0.3}, "other": {"color": "grey"}}
    park = square("park", 0, 0, 10, leisure="nature_reserve", boundary="protected_area")
    park["properties"]["category"] = "landuse"
    style = rules.evaluate("([f, s]) => selection.styleFor(f, s)", [park, styles])
    assert style == {"color": "green", "fillOpacity": 0.3, "interactive": False, "fill": False}
    garden = square("garden", 0, 0, 10, leisure="garden")
    garden["properties"]["category"] = "landuse"
    assert "fill" not in rules.evaluate("([f, s]) => selection.styleFor(f, s)", [garden, styles])

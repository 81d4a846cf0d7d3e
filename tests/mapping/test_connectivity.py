"""iD's connectivity warnings, pure (mapping/connectivity.py): which lines warn, and the fixes."""

from __future__ import annotations

from mapping.connectivity import Near, crossing, metres, on_segment, project, way_warnings

# A road running east along 47.14, nodes 1-2-3 about 100 m apart.
ROAD = Near(7, 4, {"highway": "residential"}, [(1, 9.52, 47.14), (2, 9.5213, 47.14), (3, 9.5226, 47.14)])


def footway(*coords, refs=None, **extra) -> dict:
    refs = refs or [None] * len(coords)
    return {
        "tags": {"highway": "footway"},
        "nodes": [[r, x, y] for r, (x, y) in zip(refs, coords, strict=True)],
        "closed": False,
        **extra,
    }


def test_geometry_helpers():
    assert abs(metres((9.52, 47.14), (9.5213, 47.14)) - 98.3) < 1
    point, dist = project((9.5206, 47.1401), (9.52, 47.14), (9.5213, 47.14))
    assert point == (9.5206, 47.14) and 10 < dist < 12
    assert crossing((9.5206, 47.139), (9.5206, 47.141), (9.52, 47.14), (9.5213, 47.14)) == (9.5206, 47.14)
    assert crossing((9.52, 47.139), (9.52, 47.141), (9.52, 47.14), (9.5213, 47.14)) is None  # at an end
    assert on_segment((9.5206, 47.140002), (9.52, 47.14), (9.5213, 47.14))  # 22 cm off
    assert not on_segment((9.5206, 47.14001), (9.52, 47.14), (9.5213, 47.14))  # 1.1 m off


def test_connected_lines_and_non_roads_do_not_warn():
    shared = footway((9.5206, 47.139), (9.5213, 47.14), refs=[None, 2])
    assert way_warnings(shared, [ROAD]) == []
    joined = footway(
        (9.5206, 47.139), (9.5206, 47.14), joins=[{"way": 7, "base_version": 4, "segment": 0, "vertex": 1}]
    )
    assert way_warnings(joined, [ROAD]) == []
    wall = {**footway((9.5206, 47.139), (9.5206, 47.141)), "tags": {"barrier": "wall"}}
    assert way_warnings(wall, [ROAD]) == []
    bridge = {**footway((9.5206, 47.139), (9.5206, 47.141)), "tags": {"highway": "footway", "bridge": "yes"}}
    assert [w["code"] for w in way_warnings(bridge, [ROAD])] == ["disconnected"]


def test_crossing_without_a_junction_and_its_fix():
    (warning,) = way_warnings(footway((9.5206, 47.139), (9.5206, 47.141)), [ROAD])
    assert warning["code"] == "crossing" and warning["way"] == 7
    fixed = warning["fix"]["after"]
    assert fixed["nodes"][1] == [None, 9.5206, 47.14]
    assert fixed["joins"] == [{"way": 7, "base_version": 4, "segment": 0, "vertex": 1}]
    assert way_warnings(fixed, [ROAD]) == []


def test_almost_junction_extends_and_disconnected_connects_to_the_nearest():
    (warning,) = way_warnings(footway((9.5206, 47.1395), (9.5206, 47.13997)), [ROAD])  # 3 m short
    assert warning["code"] == "almost_junction"
    assert warning["fix"]["after"]["nodes"][-1] == [None, 9.5206, 47.14]
    assert warning["fix"]["after"]["joins"][0]["vertex"] == 2
    (warning,) = way_warnings(footway((9.5206, 47.1395), (9.5206, 47.1398)), [ROAD])  # 22 m
    assert warning["code"] == "disconnected" and warning["fix"]
    (warning,) = way_warnings(footway((9.5206, 47.130), (9.5206, 47.131)), [ROAD])  # 1 km away
    assert warning["code"] == "disconnected" and warning["fix"] is None
    # An end already on the road (within 0.5 m) is joined where it is, not doubled.
    (warning,) = way_warnings(footway((9.5206, 47.1395), (9.5206, 47.139999)), [ROAD])
    fixed = warning["fix"]["after"]
    assert len(fixed["nodes"]) == 2 and fixed["joins"][0]["vertex"] == 1

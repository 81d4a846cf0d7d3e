"""Pure geometry and tag rules (no ORM): OSM's area rules and map categories, in Python.

They mirror the SQL functions ``cartoparty_is_area`` and ``cartoparty_category`` (migration 0002),
which derive geometry in bulk; tests check that both sides agree.
"""

from __future__ import annotations

from collections.abc import Mapping

AREA_KEYS = frozenset(
    {
        "building", "building:part", "landuse", "amenity", "leisure", "shop", "tourism", "place",
        "historic", "military", "office", "craft", "area:highway", "healthcare", "water", "boundary_area",
    }
)  # fmt: skip
NOT_AREA_NATURAL = frozenset({"coastline", "cliff", "ridge", "arete", "tree_row", "valley", "earth_bank"})
NOT_AREA_MAN_MADE = frozenset({"cutline", "embankment", "pipeline", "breakwater", "groyne", "dyke"})
PATH_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "steps",
        "cycleway",
        "bridleway",
        "pedestrian",
        "track",
        "corridor",
        "crossing",
    }
)
POI_KEYS = ("amenity", "shop", "tourism", "emergency", "healthcare", "office", "craft", "historic")
LANDUSE_NATURAL = frozenset(
    {"wood", "scrub", "grassland", "heath", "wetland", "meadow", "bare_rock", "scree"}
)


def is_area(tags: Mapping[str, str]) -> bool:
    """Whether a closed way with these tags is an area, by OSM's (iD's) area rules."""
    if tags.get("area") == "no":
        return False
    if tags.get("area") == "yes" or AREA_KEYS.intersection(tags):
        return True
    if "natural" in tags and tags["natural"] not in NOT_AREA_NATURAL:
        return True
    if tags.get("waterway") in {"riverbank", "dock", "boatyard", "dam"}:
        return True
    if "man_made" in tags and tags["man_made"] not in NOT_AREA_MAN_MADE:
        return True
    if "aeroway" in tags and tags["aeroway"] not in {"taxiway", "runway", "parking_position"}:
        return True
    if tags.get("power") in {"plant", "substation", "generator", "transformer"}:
        return True
    if tags.get("highway") in {"rest_area", "services"}:
        return True
    return tags.get("public_transport") == "platform" and "highway" not in tags


def category(tags: Mapping[str, str]) -> str:
    """The map style category of a feature: building, water, path, road, railway, poi, landuse..."""
    if "building" in tags:
        return "building"
    if (
        tags.get("natural") == "water"
        or "waterway" in tags
        or "water" in tags
        or tags.get("landuse") in {"reservoir", "basin"}
    ):
        return "water"
    if tags.get("highway") in PATH_HIGHWAYS:
        return "path"
    if "highway" in tags:
        return "road"
    if "railway" in tags:
        return "railway"
    if any(k in tags for k in POI_KEYS):
        return "poi"
    if "landuse" in tags or "leisure" in tags or tags.get("natural") in LANDUSE_NATURAL:
        return "landuse"
    if "boundary" in tags:
        return "boundary"
    return "other"

"""The one cartographic style of Cartoparty, for base tiles and printed maps.

The style is a Mapnik XML document generated here from a few tables (palette, road widths, point
of interest icons), so the printed legend and the map read the same colours. Layers are SQL queries
on the published store (``visible = true``: imported OSM data plus accepted local edits), in Web
Mercator (EPSG:3857), with Mapnik's ``!bbox!`` token for the area being drawn. Where the data comes
from is decided by :mod:`exports.printing.sources`: Mapnik's own PostGIS plugin (tiles) or a
snapshot read through Django's connection (prints: one consistent "data as of").

Labels use the chosen language: ``name:fr`` / ``name:en`` falling back to ``name``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.geo import SRID

if TYPE_CHECKING:  # the stubs' name for a str or a lazy translation; a dev-only package
    from django_stubs_ext import StrOrPromise

MERCATOR = "epsg:3857"
WORLD_EXTENT = "-20037508.34,-20037508.34,20037508.34,20037508.34"
MAKI_VERSION = "8.2.0"
# Fonts from Debian (fonts-noto-core, fonts-dejavu-core); DejaVu covers what Noto's core lacks.
FONT_FILES = (
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Italic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)
FONTSETS = {
    "regular": ("Noto Sans Regular", "DejaVu Sans Book"),
    "bold": ("Noto Sans Bold", "DejaVu Sans Bold"),
    "italic": ("Noto Sans Italic", "DejaVu Sans Book"),
}

# Scale denominators (256 px tiles): z13 68k, z14 34k, z15 17k, z16 8.5k, z17 4.3k.
LOW, MID = 30_000, 6_000  # > LOW: town overview; MID..LOW: neighbourhood; < MID: street level
# Denominators are in Web Mercator units (as on the web): a print at a true 1:10,000 at 47° N is
# 1:14,700 for Mapnik. POI icons show from z15 on tiles and up to about 1:20,000 on paper.
POI_MAX_SCALE = LOW

PAPER = "#f4f1ea"
INK = "#2b2b2b"


@dataclass(frozen=True)
class Fill:
    """An area class: SQL condition on ``tags``, colour, legend label."""

    kind: str
    condition: str
    color: str
    label: StrOrPromise
    outline: str = ""


LANDUSE = (
    Fill("forest", "tags->>'landuse' = 'forest' OR tags->>'natural' = 'wood'", "#b5d29a", _("Forest")),
    Fill(
        "grass",
        "tags->>'landuse' IN ('grass','meadow','village_green','recreation_ground')"
        " OR tags->>'leisure' IN ('park','garden') OR tags->>'natural' IN ('grassland','scrub','heath')",
        "#d4e7b8",
        _("Park, grass"),
    ),
    Fill(
        "farmland",
        "tags->>'landuse' IN ('farmland','orchard','vineyard','farmyard','allotments')",
        "#eef0d5",
        _("Farmland"),
    ),
    Fill("residential", "tags->>'landuse' = 'residential'", "#ebe6df", _("Residential area")),
    Fill("commercial", "tags->>'landuse' IN ('commercial','retail')", "#f3dfe0", _("Shops and offices")),
    Fill(
        "industrial",
        "tags->>'landuse' IN ('industrial','railway','construction','brownfield')",
        "#e6dbe8",
        _("Industry"),
    ),
    Fill(
        "cemetery",
        "tags->>'landuse' = 'cemetery' OR tags->>'amenity' = 'grave_yard'",
        "#c9dcc0",
        _("Cemetery"),
    ),
    Fill(
        "education",
        "tags->>'amenity' IN ('school','kindergarten','college','university')",
        "#f6eec4",
        _("School grounds"),
    ),
    Fill(
        "sport",
        "tags->>'leisure' IN ('pitch','sports_centre','stadium','playground','track')",
        "#bfe3cf",
        _("Sports ground"),
        "#8cc5a5",
    ),
    Fill("parking", "tags->>'amenity' = 'parking'", "#e4e1e6", _("Car park"), "#c7c2cc"),
)
WATER = Fill(
    "water",
    "tags->>'natural' = 'water' OR tags->>'landuse' IN ('reservoir','basin') OR tags->>'waterway' = 'riverbank'",
    "#a9cce8",
    _("Water"),
)
BUILDING = Fill("building", "tags ? 'building'", "#d6cbc0", _("Building"), "#b9aa9b")


@dataclass(frozen=True)
class Line:
    """A line class: highway (or waterway, railway) values and widths at three scales."""

    kind: str
    values: tuple[str, ...]
    color: str
    casing: str
    widths: tuple[float, float, float]  # town overview, neighbourhood, street level (px)
    label: StrOrPromise
    dash: str = ""


ROADS = (
    Line(
        "major",
        ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"),
        "#f7c46c",
        "#c48a2a",
        (3.0, 6.0, 11.0),
        _("Main road"),
    ),
    Line(
        "secondary",
        ("secondary", "secondary_link"),
        "#fbe39a",
        "#bf9f45",
        (2.4, 5.0, 10.0),
        _("Secondary road"),
    ),
    Line(
        "tertiary",
        ("tertiary", "tertiary_link"),
        "#fff7c8",
        "#b5a67a",
        (2.0, 4.5, 9.0),
        _("Local road"),
    ),
    Line(
        "minor",
        ("residential", "unclassified", "living_street", "road"),
        "#ffffff",
        "#b3aba0",
        (1.2, 3.5, 8.0),
        _("Street"),
    ),
    Line("service", ("service",), "#ffffff", "#c2bbb2", (0.6, 1.8, 4.0), _("Service road")),
    Line("pedestrian", ("pedestrian",), "#ece8f2", "#a99fb8", (1.2, 3.5, 8.0), _("Pedestrian street")),
)
PATHS = (
    Line("footway", ("footway", "path", "bridleway"), "#b0563f", "", (0.6, 1.0, 1.6), _("Footpath"), "2,2"),
    Line("cycleway", ("cycleway",), "#2f6fbf", "", (0.6, 1.0, 1.6), _("Cycle path"), "3,2"),
    Line("track", ("track",), "#8a6d3b", "", (0.6, 1.0, 1.8), _("Track"), "5,2"),
    Line("steps", ("steps",), "#b0563f", "", (1.6, 2.8, 4.5), _("Steps"), "1,1.5"),
)
WATERWAYS = (
    Line("river", ("river", "canal"), "#a9cce8", "", (2.0, 4.0, 7.0), _("River, canal")),
    Line("stream", ("stream", "ditch", "drain"), "#a9cce8", "", (0.8, 1.5, 2.5), _("Stream")),
)
RAILWAYS = (
    Line(
        "rail", ("rail", "light_rail", "narrow_gauge", "tram"), "#707070", "", (1.2, 2.0, 3.0), _("Railway")
    ),
)
# Streets for the printed index: every named road or pedestrian street (not footpaths).
STREET_HIGHWAYS = tuple(v for line in ROADS for v in line.values)


@dataclass(frozen=True)
class Poi:
    """A point of interest class: tag key and values (None: any value), Maki icon, index category."""

    kind: str
    key: str
    values: tuple[str, ...] | None
    icon: str
    label: StrOrPromise
    category: str


POI_CATEGORIES = {
    "food": _("Food and drink"),
    "shops": _("Shops"),
    "health": _("Health"),
    "education": _("Education"),
    "public": _("Public services"),
    "culture": _("Culture and tourism"),
    "transport": _("Transport"),
    "religion": _("Places of worship"),
    "leisure": _("Sport and leisure"),
}
POIS = (
    Poi("restaurant", "amenity", ("restaurant",), "restaurant", _("Restaurant"), "food"),
    Poi("cafe", "amenity", ("cafe",), "cafe", _("Café"), "food"),
    Poi("bar", "amenity", ("bar", "pub", "biergarten"), "bar", _("Bar"), "food"),
    Poi("fast_food", "amenity", ("fast_food", "ice_cream"), "fast-food", _("Fast food"), "food"),
    Poi("bakery", "shop", ("bakery", "pastry"), "bakery", _("Bakery"), "shops"),
    Poi("grocery", "shop", ("supermarket", "convenience", "greengrocer"), "grocery", _("Grocery"), "shops"),
    Poi("shop", "shop", None, "shop", _("Shop"), "shops"),
    Poi("pharmacy", "amenity", ("pharmacy",), "pharmacy", _("Pharmacy"), "health"),
    Poi("doctor", "amenity", ("doctors", "clinic", "dentist"), "doctor", _("Doctor"), "health"),
    Poi("hospital", "amenity", ("hospital",), "hospital", _("Hospital"), "health"),
    Poi("defibrillator", "emergency", ("defibrillator",), "defibrillator", _("Defibrillator"), "health"),
    Poi(
        "school",
        "amenity",
        ("school", "kindergarten", "college", "university"),
        "school",
        _("School"),
        "education",
    ),
    Poi("library", "amenity", ("library",), "library", _("Library"), "education"),
    Poi("townhall", "amenity", ("townhall",), "town-hall", _("Town hall"), "public"),
    Poi("post", "amenity", ("post_office",), "post", _("Post office"), "public"),
    Poi("police", "amenity", ("police",), "police", _("Police"), "public"),
    Poi("fire_station", "amenity", ("fire_station",), "fire-station", _("Fire station"), "public"),
    Poi("bank", "amenity", ("bank", "atm"), "bank", _("Bank, cash machine"), "public"),
    Poi("toilets", "amenity", ("toilets",), "toilet", _("Toilets"), "public"),
    Poi("drinking_water", "amenity", ("drinking_water",), "drinking-water", _("Drinking water"), "public"),
    Poi("recycling", "amenity", ("recycling",), "recycling", _("Recycling"), "public"),
    Poi("parking", "amenity", ("parking",), "parking", _("Car park"), "transport"),
    Poi("bicycle_parking", "amenity", ("bicycle_parking",), "bicycle", _("Bicycle parking"), "transport"),
    Poi("fuel", "amenity", ("fuel", "charging_station"), "fuel", _("Fuel, charging"), "transport"),
    Poi("bus_stop", "highway", ("bus_stop",), "bus", _("Bus stop"), "transport"),
    Poi("worship", "amenity", ("place_of_worship",), "place-of-worship", _("Place of worship"), "religion"),
    Poi("museum", "tourism", ("museum", "gallery"), "museum", _("Museum"), "culture"),
    Poi(
        "theatre", "amenity", ("theatre", "cinema", "arts_centre"), "theatre", _("Theatre, cinema"), "culture"
    ),
    Poi("hotel", "tourism", ("hotel", "guest_house", "hostel", "motel"), "lodging", _("Hotel"), "culture"),
    Poi("information", "tourism", ("information",), "information", _("Tourist information"), "culture"),
    Poi("viewpoint", "tourism", ("viewpoint",), "viewpoint", _("Viewpoint"), "culture"),
    Poi("attraction", "tourism", ("attraction", "artwork"), "attraction", _("Attraction"), "culture"),
    Poi(
        "monument",
        "historic",
        ("monument", "memorial", "castle", "ruins"),
        "monument",
        _("Monument"),
        "culture",
    ),
    Poi("playground", "leisure", ("playground",), "playground", _("Playground"), "leisure"),
    Poi(
        "sport",
        "leisure",
        ("sports_centre", "fitness_centre", "swimming_pool", "stadium"),
        "fitness-centre",
        _("Sports centre"),
        "leisure",
    ),
)
POI_COLOR = "#6b3f1d"
# The icons scripts/vendor_icons.sh copies into static/vendor/ (read from this file by that script).
ICON_NAMES = (
    "restaurant", "cafe", "bar", "fast-food", "bakery", "grocery", "shop", "pharmacy", "doctor",
    "hospital", "defibrillator", "school", "library", "town-hall", "post", "police", "fire-station",
    "bank", "toilet", "drinking-water", "recycling", "parking", "bicycle", "fuel", "bus",
    "place-of-worship", "museum", "theatre", "lodging", "information", "viewpoint", "attraction",
    "monument", "playground", "fitness-centre",
)  # fmt: skip


def icon_dir() -> Path:
    return Path(settings.BASE_DIR) / "static" / "vendor" / f"maki@{MAKI_VERSION}"


# --- SQL -------------------------------------------------------------------------------------------


def _in(values: tuple[str, ...]) -> str:
    # Values are constants of this module, never user input.
    return "(" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _case(pairs: list[tuple[str, str]]) -> str:
    return "CASE " + " ".join(f"WHEN {cond} THEN '{kind}'" for cond, kind in pairs) + " END"


def _line_case(key: str, lines: tuple[Line, ...]) -> str:
    return _case([(f"tags->>'{key}' IN {_in(line.values)}", line.kind) for line in lines])


def poi_case() -> str:
    """SQL: the POI kind of ``tags`` (first matching class), NULL if none."""
    pairs = []
    for poi in POIS:
        cond = f"tags ? '{poi.key}'" if poi.values is None else f"tags->>'{poi.key}' IN {_in(poi.values)}"
        pairs.append((cond, poi.kind))
    return _case(pairs)


def name_sql(lang: str) -> str:
    """SQL: the label in ``lang`` (``name:<lang>``), falling back to ``name``."""
    if lang in {"fr", "en", "de", "it"}:
        return f"COALESCE(NULLIF(tags->>'name:{lang}', ''), tags->>'name')"
    return "tags->>'name'"


BBOX_WGS84 = f"ST_Transform(!bbox!, {SRID})"


def _elements(tables: tuple[str, ...], town_id: int | None, extra: str = "") -> str:
    town = f" AND town_id = {int(town_id)}" if town_id is not None else ""
    parts = [
        f"SELECT id, geom, tags FROM {table} WHERE visible{town} AND geom && {BBOX_WGS84}{extra}"
        for table in tables
    ]
    return " UNION ALL ".join(parts)


def layer_queries(town_id: int | None, lang: str) -> dict[str, str]:
    """SQL of each layer (geometry in EPSG:3857 as ``geom``), for one town or all (tiles)."""
    name = name_sql(lang)
    areas = _elements(("mapping_way", "mapping_relation"), town_id, " AND ST_Dimension(geom) = 2")
    lines = _elements(("mapping_way",), town_id, " AND ST_Dimension(geom) = 1")
    land_case = _case([(f"({f.condition})", f.kind) for f in LANDUSE])
    road_case = _line_case("highway", ROADS)
    z_order = _case([(f"tags->>'highway' IN {_in(r.values)}", str(i)) for i, r in enumerate(ROADS)])
    town = f" AND town_id = {int(town_id)}" if town_id is not None else ""
    return {
        "landuse": f"SELECT ST_Transform(geom, 3857) AS geom, kind FROM (SELECT geom, {land_case} AS kind "
        f"FROM ({areas}) a) b WHERE kind IS NOT NULL ORDER BY ST_Area(geom) DESC",
        "water": f"SELECT ST_Transform(geom, 3857) AS geom FROM ({areas}) a WHERE {WATER.condition}",
        "waterways": f"SELECT ST_Transform(geom, 3857) AS geom, kind FROM (SELECT geom, "
        f"{_line_case('waterway', WATERWAYS)} AS kind FROM ({lines}) l) k WHERE kind IS NOT NULL",
        "buildings": f"SELECT ST_Transform(geom, 3857) AS geom FROM ({areas}) a WHERE tags ? 'building'",
        "paths": f"SELECT ST_Transform(geom, 3857) AS geom, kind, {name} AS name FROM (SELECT geom, tags, "
        f"{_line_case('highway', PATHS)} AS kind FROM ({lines}) l) k WHERE kind IS NOT NULL",
        "railways": f"SELECT ST_Transform(geom, 3857) AS geom, kind FROM (SELECT geom, "
        f"{_line_case('railway', RAILWAYS)} AS kind FROM ({lines}) l) k "
        "WHERE kind IS NOT NULL",
        "roads": f"SELECT ST_Transform(geom, 3857) AS geom, kind, {name} AS name FROM (SELECT geom, tags, "
        f"{road_case} AS kind, {z_order}::int AS z FROM ({lines}) l) k WHERE kind IS NOT NULL "
        "ORDER BY z DESC",
        "pois": f"SELECT ST_Transform(pt, 3857) AS geom, kind, icon, {name} AS name FROM ("
        f"SELECT geom AS pt, tags, {poi_case()} AS kind FROM mapping_node "
        f"WHERE visible{town} AND tags <> '{{}}'::jsonb AND geom && {BBOX_WGS84} "
        f"UNION ALL SELECT ST_PointOnSurface(geom), tags, {poi_case()} FROM ({areas}) a) p "
        f"JOIN (VALUES {', '.join(f'({chr(39)}{p.kind}{chr(39)}, {chr(39)}{p.icon}{chr(39)})' for p in POIS)})"
        " AS icons(k, icon) ON icons.k = p.kind",
        "places": f"SELECT ST_Transform(geom, 3857) AS geom, tags->>'place' AS kind, {name} AS name "
        f"FROM mapping_node WHERE visible{town} AND tags <> '{{}}'::jsonb AND tags->>'place' IN "
        f"('town','village','suburb','hamlet','neighbourhood','quarter') AND geom && {BBOX_WGS84}",
    }


# --- XML -------------------------------------------------------------------------------------------


def _scale_rules(rule_body) -> str:
    """Three rules (overview, neighbourhood, street level) from ``rule_body(tier)``."""
    bounds = ((LOW, None), (MID, LOW), (None, MID))
    out = []
    for tier, (low, high) in enumerate(bounds):
        limits = ""
        if low is not None:
            limits += f"<MinScaleDenominator>{low}</MinScaleDenominator>"
        if high is not None:
            limits += f"<MaxScaleDenominator>{high}</MaxScaleDenominator>"
        out.append(rule_body(tier, limits))
    return "".join(out)


def _line_style(name: str, lines: tuple[Line, ...], *, casing: bool, min_tier: int = 0) -> str:
    def body(tier: int, limits: str) -> str:
        if tier < min_tier:
            return ""
        rules = []
        for line in lines:
            width = line.widths[tier]
            if casing:
                if not line.casing:
                    continue
                stroke = f'stroke="{line.casing}" stroke-width="{width + (1.2 if tier else 0.6)}"'
            else:
                stroke = f'stroke="{line.color}" stroke-width="{width}"'
                if line.dash:
                    stroke += f' stroke-dasharray="{line.dash}"'
            rules.append(
                f"<Rule>{limits}<Filter>[kind] = '{line.kind}'</Filter>"
                f'<LineSymbolizer {stroke} stroke-linecap="round" stroke-linejoin="round"/></Rule>'
            )
        return "".join(rules)

    return f'<Style name="{name}">{_scale_rules(body)}</Style>'


def _fill_rules(fills: tuple[Fill, ...], keyed: bool) -> str:
    rules = []
    for f in fills:
        flt = f"<Filter>[kind] = '{f.kind}'</Filter>" if keyed else ""
        outline = f'<LineSymbolizer stroke="{f.outline}" stroke-width="0.5"/>' if f.outline else ""
        rules.append(f'<Rule>{flt}<PolygonSymbolizer fill="{f.color}"/>{outline}</Rule>')
    return "".join(rules)


def _text(fontset: str, size: float, fill: str, expr: str = "[name]", **attrs: str | float) -> str:
    attrs = {"halo_fill": "rgba(255,255,255,0.85)", "halo_radius": 1.4, **attrs}
    extra = " ".join(f"{k.replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items())
    return f'<TextSymbolizer fontset-name="{fontset}" size="{size}" fill="{fill}" {extra}>{expr}</TextSymbolizer>'


@functools.cache
def style_xml() -> str:
    """The Mapnik XML of the style (layers without datasources: sources.py attaches them)."""
    fontsets = "".join(
        f'<FontSet name="{name}">' + "".join(f'<Font face-name="{face}"/>' for face in faces) + "</FontSet>"
        for name, faces in FONTSETS.items()
    )
    icons = icon_dir()
    road_labels = (
        f"<Rule><MaxScaleDenominator>{LOW}</MaxScaleDenominator><Filter>[name] != null and [name] != ''"
        "</Filter>"
        + _text(
            "regular", 9.5, INK, placement="line", spacing=250, max_char_angle_delta=25, repeat_distance=200
        )
        + "</Rule>"
    )
    path_labels = (
        f"<Rule><MaxScaleDenominator>{MID}</MaxScaleDenominator><Filter>[name] != null and [name] != ''"
        "</Filter>"
        + _text("italic", 8, "#6e3b2a", placement="line", spacing=300, max_char_angle_delta=25)
        + "</Rule>"
    )
    poi_rules = (
        f"<Rule><MaxScaleDenominator>{POI_MAX_SCALE}</MaxScaleDenominator>"
        f'<MarkersSymbolizer file="{icons}/[icon].svg" fill="{POI_COLOR}" width="13" '
        'allow-overlap="false" placement="point"/></Rule>'
        f"<Rule><MaxScaleDenominator>{MID}</MaxScaleDenominator><Filter>[name] != null and [name] != ''"
        "</Filter>" + _text("regular", 8, POI_COLOR, dy=10, wrap_width=80, allow_overlap="false") + "</Rule>"
    )
    place_rules = (
        "<Rule><Filter>[kind] = 'town' or [kind] = 'village'</Filter>"
        + _text("bold", 14, "#3a3a3a", halo_radius=2)
        + f"</Rule><Rule><MaxScaleDenominator>{LOW * 2}</MaxScaleDenominator>"
        "<Filter>[kind] != 'town' and [kind] != 'village'</Filter>"
        + _text("bold", 10, "#5a5a5a", character_spacing=1)
        + "</Rule>"
    )
    styles = {
        "landuse": f'<Style name="landuse">{_fill_rules(LANDUSE, True)}</Style>',
        "water": f'<Style name="water">{_fill_rules((WATER,), False)}</Style>',
        "waterways": _line_style("waterways", WATERWAYS, casing=False),
        "buildings": f'<Style name="buildings"><Rule><MaxScaleDenominator>{LOW * 2}</MaxScaleDenominator>'
        f'<PolygonSymbolizer fill="{BUILDING.color}"/>'
        f'<LineSymbolizer stroke="{BUILDING.outline}" stroke-width="0.4"/></Rule></Style>',
        "paths": _line_style("paths", PATHS, casing=False, min_tier=1),
        "railways": _line_style("railways", RAILWAYS, casing=False),
        "roads-casing": _line_style("roads-casing", ROADS, casing=True),
        "roads": _line_style("roads", ROADS, casing=False),
        "road-labels": f'<Style name="road-labels">{road_labels}</Style>',
        "path-labels": f'<Style name="path-labels">{path_labels}</Style>',
        "pois": f'<Style name="pois">{poi_rules}</Style>',
        "places": f'<Style name="places">{place_rules}</Style>',
    }
    layers = "".join(
        f'<Layer name="{name}" srs="{MERCATOR}">'
        + "".join(f"<StyleName>{s}</StyleName>" for s in names)
        + "</Layer>"
        for name, names in LAYER_STYLES
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Map srs="{MERCATOR}" background-color="{PAPER}" '
        f'buffer-size="64">{fontsets}{"".join(styles.values())}{layers}</Map>'
    )


# Layer order (bottom to top) and the styles each draws; the SQL comes from layer_queries().
LAYER_STYLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("landuse", ("landuse",)),
    ("water", ("water",)),
    ("waterways", ("waterways",)),
    ("buildings", ("buildings",)),
    ("paths", ("paths", "path-labels")),
    ("railways", ("railways",)),
    ("roads", ("roads-casing", "roads", "road-labels")),
    ("pois", ("pois",)),
    ("places", ("places",)),
)


@functools.cache
def register_fonts() -> None:
    """Register the Debian fonts once per process (Mapnik's font engine is global)."""
    import mapnik

    for path in FONT_FILES:
        mapnik.FontEngine.register_font(path)

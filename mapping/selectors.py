"""Read-side queries for the map, scoped by town; GeoJSON is built in PostGIS, not in Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext as _

from core.errors import Invalid
from core.geo import SRID
from parties.models import Party, Town

MAX_BBOX_DEGREES = 2.0


class BadRequest(Invalid):
    """Invalid query parameters (HTTP 400); the message is shown to the user."""


@dataclass(frozen=True)
class BBox:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, raw: str | None) -> BBox:
        if not raw:
            raise BadRequest(_("The bbox parameter is required: west,south,east,north in degrees."))
        parts = raw.split(",")
        if len(parts) != 4:
            raise BadRequest(_("bbox needs four numbers: west,south,east,north."))
        try:
            west, south, east, north = (float(p) for p in parts)
        except ValueError as exc:
            raise BadRequest(_("bbox values must be numbers.")) from exc
        if any(v != v or v in (float("inf"), float("-inf")) for v in (west, south, east, north)):
            raise BadRequest(_("bbox values must be finite numbers."))
        if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
            raise BadRequest(_("bbox is out of range: longitudes -180..180, latitudes -90..90."))
        if west >= east or south >= north:
            raise BadRequest(_("bbox must have west < east and south < north."))
        return cls(west, south, east, north)


def parse_zoom(raw: str | None) -> int:
    if raw in (None, ""):
        return 18
    try:
        zoom = int(raw)
    except ValueError as exc:
        raise BadRequest(_("zoom must be an integer.")) from exc
    if not 0 <= zoom <= 22:
        raise BadRequest(_("zoom must be between 0 and 22."))
    return zoom


# At overview zooms the page still shows the town: fewer kinds of feature, simplified shapes.
MAJOR_ROADS = (
    "('motorway','trunk','primary','secondary','tertiary','motorway_link','trunk_link','primary_link')"
)


def _zoom_filter(zoom: int) -> tuple[str, str]:
    """(extra WHERE for ways/relations, extra WHERE for nodes) at this zoom."""
    if zoom >= 16:
        return "", ""
    if zoom >= 14:
        return "AND cartoparty_category(tags) NOT IN ('other')", "AND false"
    return (
        "AND (cartoparty_category(tags) IN ('water','landuse','boundary') "
        f"OR tags->>'highway' IN {MAJOR_ROADS})",
        "AND false",
    )


FEATURES_SQL = f"""
WITH env AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, {SRID}) AS g),
feats AS (
  (SELECT 'node' AS t, osm_id, version, tags, geom FROM mapping_node, env
   WHERE town_id = %(town)s AND visible AND tags <> '{{{{}}}}'::jsonb AND geom && env.g {{node_filter}}
   LIMIT %(limit)s)
  UNION ALL
  (SELECT 'way', osm_id, version, tags, geom FROM mapping_way, env
   WHERE town_id = %(town)s AND visible AND geom IS NOT NULL AND tags <> '{{{{}}}}'::jsonb
     AND geom && env.g {{way_filter}}
   LIMIT %(limit)s)
  UNION ALL
  (SELECT 'relation', osm_id, version, tags, geom FROM mapping_relation, env
   WHERE town_id = %(town)s AND visible AND geom IS NOT NULL AND geom && env.g {{way_filter}}
   LIMIT %(limit)s)
),
capped AS (SELECT * FROM feats LIMIT %(limit)s)
SELECT count(*),
       json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
         'type', 'Feature',
         'id', t || '/' || osm_id,
         'geometry', ST_AsGeoJSON({{geom_expr}}, 7)::json,
         'properties', json_build_object('osm_type', t, 'osm_id', osm_id, 'version', version,
                                         'category', cartoparty_category(tags), 'tags', tags)
       )), '[]'::json))::text
FROM capped
"""


class TooManyFeatures(BadRequest):
    pass


def features_geojson_for_town(town: Town, bbox: BBox, zoom: int = 18, cap: int | None = None) -> str:
    """Published features of ``town`` in ``bbox`` as a GeoJSON FeatureCollection string.

    Raises TooManyFeatures when more than ``cap`` features match (the page then asks to zoom in).
    """
    cap = cap or settings.CARTOPARTY_MAX_FEATURES
    way_filter, node_filter = _zoom_filter(zoom)
    # Simplify to about a pixel at this zoom (a 256 px tile spans 360 / 2**zoom degrees).
    tolerance = 360 / (2**zoom) / 256
    geom_expr = "geom" if zoom >= 16 else f"ST_SimplifyPreserveTopology(geom, {tolerance:.10f})"
    sql = FEATURES_SQL.format(node_filter=node_filter, way_filter=way_filter, geom_expr=geom_expr)
    return capped_feature_collection(sql, {"town": town.pk}, bbox, cap)


def capped_feature_collection(sql: str, params: dict, bbox: BBox, cap: int) -> str:
    """Run a query answering (count, FeatureCollection text) for ``bbox``, at most ``cap`` features.

    The query reads %(w)s %(s)s %(e)s %(n)s and %(limit)s (cap + 1, so one row too many tells us the
    area is too crowded without counting it all). Raises TooManyFeatures past ``cap``.
    """
    params = {**params, "w": bbox.west, "s": bbox.south, "e": bbox.east, "n": bbox.north, "limit": cap + 1}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        count, body = cur.fetchone()
    if count > cap:
        raise TooManyFeatures(too_many_message(cap))
    return body


def too_many_message(cap: int) -> str:
    return _("Too many features in this area (more than %(cap)s): zoom in.") % {"cap": cap}


PENDING_SQL = f"""
WITH env AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, {SRID}) AS g),
revs AS (
  SELECT r.id, r.element_type, r.element_id, r.action, r.status,
         coalesce(r.after, r.before) AS state, coalesce(r.geom_after, r.geom_before) AS geom
  FROM mapping_revision r, env
  WHERE r.party_id = %(party)s AND r.author_id = %(author)s AND r.status IN ('pending', 'needs_changes')
    AND (r.geom_after && env.g OR r.geom_before && env.g)
  ORDER BY r.created_at DESC, r.id DESC
  LIMIT 1000
)
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature',
  'id', 'revision/' || id,
  'geometry', ST_AsGeoJSON(geom, 7)::json,
  'properties', json_build_object('revision_id', id, 'osm_type', element_type, 'osm_id', element_id,
                                  'action', action, 'status', status,
                                  'tags', coalesce(state->'tags', '{{}}'::jsonb))
)), '[]'::json))::text
FROM revs
"""


def pending_features_geojson_for_author(author: Any, party: Party, bbox: BBox) -> str:
    """The author's own revisions of ``party`` still waiting for review in ``bbox``, as a GeoJSON string.

    Shown on the resident's map over the published data, styled apart; a deletion shows the shape
    that would go. Newest first, so the page can keep only the latest change of each element. Built
    in PostGIS, like the published features (one query, no geometry objects in Python).
    """
    params = {
        "party": party.pk,
        "author": author.pk,
        "w": bbox.west,
        "s": bbox.south,
        "e": bbox.east,
        "n": bbox.north,
    }
    with connection.cursor() as cur:
        cur.execute(PENDING_SQL, params)
        return cur.fetchone()[0]


PLACE_VALUES = ("city", "town", "village", "suburb")


def home_extent_for_town(town: Town) -> tuple[float, float, float, float] | None:
    """Where the town map opens: around the town's settlements, not the whole extract.

    Extracts carry the nodes of every way that crosses their edge (a river running 50 km north), so
    the extent of all data opens far too zoomed out. The settlements' place nodes, with a margin,
    frame what residents recognise; without any, the town's boundary. Cached for ten minutes: it
    only moves on import.
    """

    def compute() -> tuple[float, float, float, float] | None:
        with connection.cursor() as cur:
            cur.execute(
                """
                SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
                FROM (SELECT ST_Expand(ST_Extent(geom)::geometry, 0.01) AS e FROM mapping_node
                      WHERE town_id = %s AND visible AND tags <> '{}'::jsonb
                        AND tags->>'place' = ANY(%s)) s
                WHERE e IS NOT NULL
                """,
                [town.pk, list(PLACE_VALUES)],
            )
            row = cur.fetchone()
        if row:
            return tuple(row)
        return town.boundary.extent if town.boundary else None

    return cache.get_or_set(f"cartoparty:home-extent:{town.pk}", compute, 600)

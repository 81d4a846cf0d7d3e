"""Keep the derived geometry of ways and relations in step with their nodes and members.

Runs in PostGIS, set-based, so the importer can rebuild 100,000 ways in one statement and the edit
services can rebuild the handful an accepted revision touched. Geometry that cannot be made valid
is stored as NULL with ``geom_status = 'invalid'``: never invalid.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


def way_geometry_ctes(source: str) -> str:
    """SQL CTEs ending in ``labelled(key, geom, geom_status)`` for the ways of ``source``.

    ``source`` is a table or CTE with columns ``key, town_id, tags, nodes``. The node lists are
    unnested and joined to the nodes in one set-based join (a hash join for bulk loads), so the
    importer can compute geometry while inserting instead of rewriting every row afterwards.
    """
    return f"""
wn AS (
  SELECT s.key, s.town_id, u.ref, u.ord FROM {source} s
  CROSS JOIN LATERAL unnest(s.nodes) WITH ORDINALITY AS u(ref, ord)
),
built AS (
  SELECT wn.key, ST_MakeLine(n.geom ORDER BY wn.ord) AS line, count(n.id) AS found, count(*) AS wanted
  FROM wn LEFT JOIN mapping_node n ON n.town_id = wn.town_id AND n.osm_id = wn.ref AND n.visible
  GROUP BY wn.key
),
shaped AS (
  SELECT s.key, coalesce(b.found, 0) AS found, coalesce(b.wanted, 0) AS wanted,
         CASE WHEN cartoparty_is_area(s.tags) AND b.found = b.wanted AND b.found >= 4 AND ST_IsClosed(b.line)
              THEN ST_MakePolygon(b.line) ELSE b.line END AS g
  FROM {source} s LEFT JOIN built b ON b.key = s.key
),
checked AS (
  SELECT key, found, wanted, g, (g IS NOT NULL AND ST_NPoints(g) >= 2 AND ST_IsValid(g)) AS valid
  FROM shaped
),
repaired AS (
  SELECT key, found, wanted, valid, CASE WHEN valid THEN g ELSE cartoparty_repair(g) END AS geom
  FROM checked
),
labelled AS (
  SELECT key, geom,
         CASE WHEN geom IS NULL THEN 'invalid'
              WHEN found < wanted THEN 'incomplete'
              WHEN NOT valid THEN 'repaired'
              ELSE 'ok' END AS geom_status
  FROM repaired
)"""


WAY_SQL = (
    """
WITH src AS (
  SELECT id AS key, town_id, tags, nodes FROM mapping_way WHERE id = ANY(%(ids)s::bigint[])
),"""
    + way_geometry_ctes("src")
    + """
UPDATE mapping_way w SET geom = l.geom, geom_status = l.geom_status
FROM labelled l WHERE w.id = l.key
RETURNING w.geom_status
"""
)

RELATION_SQL = """
WITH target AS (
  SELECT r.id FROM mapping_relation r
  WHERE r.id = ANY(%(ids)s::bigint[]) AND r.tags->>'type' IN ('multipolygon', 'boundary')
),
mem AS (
  SELECT r.id, wy.geom AS wg, (m->>'ref')::bigint AS ref
  FROM mapping_relation r
  JOIN target t ON t.id = r.id
  CROSS JOIN LATERAL jsonb_array_elements(r.members) AS m
  LEFT JOIN mapping_way wy ON wy.town_id = r.town_id AND wy.osm_id = (m->>'ref')::bigint AND wy.visible
  WHERE m->>'type' = 'way'
),
built AS (
  SELECT id,
         ST_BuildArea(ST_Collect(CASE WHEN ST_Dimension(wg) = 2 THEN ST_Boundary(wg) ELSE wg END)) AS g,
         bool_and(wg IS NOT NULL) AS complete
  FROM mem GROUP BY id
),
final AS (
  SELECT id, complete, (g IS NOT NULL AND ST_IsValid(g)) AS valid,
         CASE WHEN g IS NOT NULL AND ST_IsValid(g) THEN g ELSE cartoparty_repair(g) END AS g
  FROM built
)
UPDATE mapping_relation r SET
  geom = ST_Multi(f.g),
  geom_status = CASE
    WHEN f.g IS NULL THEN 'invalid'
    WHEN NOT f.complete THEN 'incomplete'
    WHEN NOT f.valid THEN 'repaired'
    ELSE 'ok' END
FROM final f WHERE r.id = f.id
RETURNING r.geom_status
"""


@dataclass
class GeometryReport:
    ok: int = 0
    repaired: int = 0
    incomplete: int = 0
    invalid: int = 0

    def add(self, statuses: list[tuple[str]]) -> None:
        for (status,) in statuses:
            setattr(self, status, getattr(self, status) + 1)


def rebuild_way_geometries(way_pks: list[int], report: GeometryReport | None = None) -> GeometryReport:
    """Recompute ``geom`` of the given ways (database pks) from their nodes."""
    report = report or GeometryReport()
    if not way_pks:
        return report
    with connection.cursor() as cur:
        cur.execute(WAY_SQL, {"ids": way_pks})
        report.add(cur.fetchall())
    return report


def rebuild_relation_geometries(
    relation_pks: list[int], report: GeometryReport | None = None
) -> GeometryReport:
    """Recompute ``geom`` of the given multipolygon/boundary relations from their member ways."""
    report = report or GeometryReport()
    if not relation_pks:
        return report
    with connection.cursor() as cur:
        cur.execute(RELATION_SQL, {"ids": relation_pks})
        report.add(cur.fetchall())
    return report


def dependents_of_nodes(town_id: int, node_ids: list[int]) -> tuple[list[int], list[int]]:
    """Database pks of the ways using these nodes and of the relations using those ways."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM mapping_way WHERE town_id = %s AND nodes && %s::bigint[]",
            [town_id, node_ids],
        )
        way_pks = [r[0] for r in cur.fetchall()]
    return way_pks, relations_of_ways(town_id, way_pks)


def relations_of_ways(town_id: int, way_pks: list[int]) -> list[int]:
    if not way_pks:
        return []
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT r.id FROM mapping_relation r
            JOIN mapping_way w ON w.id = ANY(%s::bigint[])
            WHERE r.town_id = %s
              AND r.members @> jsonb_build_array(jsonb_build_object('type', 'way', 'ref', w.osm_id))
            """,
            [way_pks, town_id],
        )
        return [r[0] for r in cur.fetchall()]

"""The importer's writes to the store: the first load, the upsert of a re-import, upstream deletions.

:mod:`mapping.osm_import` decodes the file and stages it; the statements that write the published
tables are here, so that only the store package writes them (``tests/architecture/test_one_writer.py``).
They run on the importer's cursor, inside its one transaction, and read its staging tables
(``imp_*`` rows of the file, ``up_*`` local edits set aside for the upstream merge, ``chg_*`` what
changed, for the geometry rebuild), created by :data:`mapping.osm_import.TEMP_TABLES`.
"""

from __future__ import annotations

from core.geo import SRID
from mapping.store.derived import way_geometry_ctes

# On a first import nodes and ways go straight into the store (no staging copy): they cannot conflict.
# ``visible`` and ``updated_at`` come from the columns' database defaults. Nodes come as binary rows
# (mapping.opl_binary), in this column order.
DIRECT_COPY_SQL = {
    "node": "COPY mapping_node (town_id, osm_id, version, base_version, geom, tags, opl) FROM STDIN (FORMAT BINARY)",
    "way": "COPY mapping_way (town_id, osm_id, version, base_version, tags, nodes, geom, geom_status, opl) FROM STDIN",
}

# Upserts: a row is written only when its OSM version differs, so a re-import changes nothing.
MERGE_SQL = {
    "node": f"""
        WITH up AS (
          INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, geom, visible, updated_at, opl)
          SELECT %(town)s, osm_id, version, version, tags,
                 ST_SetSRID(ST_MakePoint(lon, lat), {SRID}), true, now(), opl
          FROM imp_node
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            geom = EXCLUDED.geom, visible = true, updated_at = now(), opl = EXCLUDED.opl
          WHERE mapping_node.base_version IS DISTINCT FROM EXCLUDED.base_version
          RETURNING osm_id, (xmax = 0) AS inserted
        ), keep AS (INSERT INTO chg_node SELECT osm_id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """,
    # Ways get their derived geometry while they are inserted (see mapping.store.derived), from the
    # nodes merged just before: no second pass rewriting every row.
    "way": """
        WITH src AS (
          SELECT i.osm_id AS key, %(town)s::bigint AS town_id, i.tags, i.nodes, i.version, i.opl
          FROM imp_way i
          WHERE NOT EXISTS (SELECT 1 FROM mapping_way m
                            WHERE m.town_id = %(town)s AND m.osm_id = i.osm_id AND m.base_version = i.version)
        ),"""
    + way_geometry_ctes("src")
    + """,
        up AS (
          INSERT INTO mapping_way (town_id, osm_id, version, base_version, tags, nodes, visible, updated_at,
                                   geom, geom_status, opl)
          SELECT %(town)s, s.key, s.version, s.version, s.tags, s.nodes, true, now(), l.geom, l.geom_status, s.opl
          FROM src s JOIN labelled l ON l.key = s.key
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            nodes = EXCLUDED.nodes, visible = true, updated_at = now(),
            geom = EXCLUDED.geom, geom_status = EXCLUDED.geom_status, opl = EXCLUDED.opl
          RETURNING id, (xmax = 0) AS inserted, geom_status
        ), keep AS (INSERT INTO chg_way SELECT id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               count(*) FILTER (WHERE geom_status = 'ok'), count(*) FILTER (WHERE geom_status = 'repaired'),
               count(*) FILTER (WHERE geom_status = 'incomplete'), count(*) FILTER (WHERE geom_status = 'invalid')
        FROM up
    """,
    "relation": """
        WITH up AS (
          INSERT INTO mapping_relation (town_id, osm_id, version, base_version, tags, members, visible, updated_at,
                                        geom_status, opl)
          SELECT %(town)s, osm_id, version, version, tags, members, true, now(), 'none', opl FROM imp_relation
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            members = EXCLUDED.members, visible = true, updated_at = now(), opl = EXCLUDED.opl
          WHERE mapping_relation.base_version IS DISTINCT FROM EXCLUDED.base_version
          RETURNING id, (xmax = 0) AS inserted
        ), keep AS (INSERT INTO chg_relation SELECT id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """,
}

# Imported elements that are no longer in the extract were deleted upstream.
DELETE_SQL = {
    t: f"""
        WITH gone AS (
          UPDATE mapping_{t} e SET visible = false, updated_at = now()
          WHERE e.town_id = %(town)s AND e.osm_id > 0 AND e.visible
            AND NOT EXISTS (SELECT 1 FROM imp_{t} i WHERE i.osm_id = e.osm_id)
            AND NOT EXISTS (SELECT 1 FROM up_{t} u WHERE u.osm_id = e.osm_id)
          RETURNING e.{"osm_id" if t == "node" else "id"} AS key
        ), keep AS (INSERT INTO chg_{t} SELECT key FROM gone)
        SELECT count(*) FROM gone
    """
    for t in ("node", "way", "relation")
}

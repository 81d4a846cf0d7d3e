"""Row writes of the upstream merge (mapping's re-import of a newer extract, and an agent's choice).

The three-way merge decides what each element becomes (``mapping/upstream.py``); these functions
write it, so that only the store package writes the published tables
(``tests/architecture/test_one_writer.py``). They run on the caller's psycopg cursor, inside the
import's (or the choice's) transaction; versions are the caller's to set (a merge rebases an
element on the new OSM version instead of bumping it, as ``apply_change`` would).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from core.geo import SRID
from mapping.store.derived import rebuild_relation_geometries, rebuild_way_geometries
from parties.models import Town


def write_state(
    cur: psycopg.Cursor[Any],
    town: Town,
    kind: str,
    element_id: int,
    state: dict[str, Any] | None,
    **fields: Any,
) -> None:
    """Set a row's state (if given: ``{"tags", "shape"}``) and other columns (version, base_version,
    visible, osm_id); derived geometry is rebuilt by :func:`rebuild_touched` once all rows are written."""
    sets = ["updated_at = now()"]
    params: dict[str, Any] = {"town": town.pk, "id": element_id}
    for name, value in fields.items():
        sets.append(f"{name} = %({name})s")
        params[name] = value
    if state is not None:
        sets.append("tags = %(tags)s::jsonb")
        params["tags"] = json.dumps(state["tags"], ensure_ascii=False)
        if kind == "node":
            sets.append(f"geom = ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), {SRID})")
            params["lon"], params["lat"] = state["shape"]
        elif kind == "way":
            sets.append("nodes = %(nodes)s")
            params["nodes"] = list(state["shape"])
        else:
            sets.append("members = %(members)s::jsonb")
            params["members"] = json.dumps(state["shape"], ensure_ascii=False)
    cur.execute(
        f"UPDATE mapping_{kind} SET {', '.join(sets)} WHERE town_id = %(town)s AND osm_id = %(id)s", params
    )


def renumber_node_in_ways(cur: psycopg.Cursor[Any], town: Town, old_id: int, new_id: int) -> None:
    """Ways using node ``old_id`` use ``new_id`` instead (a node deleted upstream kept as a new local node)."""
    cur.execute(
        "UPDATE mapping_way SET nodes = array_replace(nodes, %s, %s) WHERE town_id = %s AND nodes @> ARRAY[%s]::bigint[]",
        [old_id, new_id, town.pk, old_id],
    )


def rebuild_touched(town: Town, cur: psycopg.Cursor[Any], touched: dict[str, list[int]]) -> None:
    """Derived geometry of merged ways, ways using merged nodes, and relations using those ways."""
    if not any(touched.values()):
        return
    cur.execute(
        """
        SELECT id FROM mapping_way WHERE town_id = %(town)s
          AND (osm_id = ANY(%(ways)s) OR nodes && %(nodes)s::bigint[])
        """,
        {"town": town.pk, "ways": touched["way"], "nodes": touched["node"]},
    )
    way_pks = [r[0] for r in cur.fetchall()]
    rebuild_way_geometries(way_pks)
    cur.execute(
        """
        SELECT DISTINCT r.id FROM mapping_relation r
        LEFT JOIN LATERAL jsonb_array_elements(r.members) m ON true
        WHERE r.town_id = %(town)s AND (r.osm_id = ANY(%(rels)s) OR (m->>'type' = 'way'
          AND (m->>'ref')::bigint IN (SELECT osm_id FROM mapping_way WHERE id = ANY(%(ways)s))))
        """,
        {"town": town.pk, "rels": touched["relation"], "ways": way_pks},
    )
    rebuild_relation_geometries([r[0] for r in cur.fetchall()])

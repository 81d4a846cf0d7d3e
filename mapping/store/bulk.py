"""Applying many accepted changes at once, set-based: the store's entry point for bulk accept.

The store's own rules still hold (``apply_change`` is what these statements do, row by row): an element
whose version is not the one the change started from is a conflict, new elements get the negative ids
they were proposed with, derived geometry is rebuilt for everything touched, and listeners hear about
it once the transaction commits. What cannot be done set-based safely goes through ``apply_change``
one change at a time. It lives in the store so that the store stays the one writer of published data
(``tests/architecture/test_one_writer.py``); review decides which changes to apply
(:func:`review.services.bulk_accept`).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from django.db import connection
from django.utils.translation import gettext as _

from core.geo import SRID
from mapping.models import Element, ElementType, Revision
from mapping.payloads import Payload, State
from mapping.signals import announce_published_change
from mapping.store import Conflict, StoreError, apply_change
from mapping.store.derived import (
    dependents_of_nodes,
    rebuild_relation_geometries,
    rebuild_way_geometries,
    relations_of_ways,
)
from parties.models import Town


class BulkChange(NamedTuple):
    """One change to apply; ``key`` is the caller's (a revision id) and names it in the results."""

    key: int
    element_type: str
    element_id: int
    action: str
    base_version: int | None
    before: State | None
    after: Payload | None


Vertices = list[tuple[int | None, float, float]]


def _tags_only(element_type: str, before: State | None, after: Payload | None) -> bool:
    if not before or not after:
        return False
    if element_type == ElementType.WAY:
        return after.get("nodes") == before.get("nodes") and bool(after.get("closed")) == bool(
            before.get("closed")
        )
    return element_type == ElementType.RELATION and after.get("members") == before.get("members")


def _point(after: Payload | None) -> tuple[float, float] | None:
    """A node payload's (lon, lat), or None when malformed (it then goes the one-by-one way)."""
    if after is None:
        return None
    try:
        lon, lat = after["geometry"]["coordinates"][:2]
        return float(lon), float(lat)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def _vertices(after: Payload | None) -> Vertices | None:
    """A way payload's vertices as (ref, lon, lat), or None when malformed or too short."""
    if after is None:
        return None
    try:
        vertices = [(None if n[0] is None else int(n[0]), float(n[1]), float(n[2])) for n in after["nodes"]]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return vertices if len(vertices) >= 2 else None


def _payload(row: BulkChange) -> Payload:
    """The payload of a row classified as set-based (a creation or a modification whose payload
    :func:`apply_changes` has read, so it has one)."""
    assert row.after is not None  # classified by apply_changes
    return row.after


def _way_vertices(row: BulkChange) -> Vertices:
    """The vertices of a way creation :func:`apply_changes` classified as set-based (so they parse)."""
    vertices = _vertices(row.after)
    assert vertices is not None  # classified by apply_changes
    return vertices


NEW_IDS_SQL = "SELECT -nextval('cartoparty_local_id') FROM generate_series(1, %(n)s)"

VERTEX_CREATE_SQL = f"""
INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, visible, updated_at, geom)
SELECT %(town)s, v.id, 1, NULL, '{{}}'::jsonb, true, now(), ST_SetSRID(ST_MakePoint(v.lon, v.lat), {SRID})
FROM unnest(%(ids)s::bigint[], %(lon)s::float8[], %(lat)s::float8[]) AS v(id, lon, lat)
"""

WAY_CREATE_SQL = """
INSERT INTO mapping_way (town_id, osm_id, version, base_version, tags, visible, updated_at, nodes, geom_status)
SELECT %(town)s, v.id, 1, NULL, v.tags::jsonb, true, now(),
       ARRAY(SELECT jsonb_array_elements_text(v.refs::jsonb)::bigint), 'none'
FROM unnest(%(ids)s::bigint[], %(tags)s::text[], %(refs)s::text[]) AS v(id, tags, refs)
ON CONFLICT (town_id, osm_id) DO NOTHING
RETURNING osm_id, version, id
"""


def _create_ways(
    town: Town, group: list[BulkChange], slow: list[BulkChange]
) -> tuple[list[BulkChange], list[tuple[Any, ...]]]:
    """New ways and their new vertices in three statements.

    Returns the rows handled here and the (osm_id, version, pk) of the ways created.
    A way whose existing vertices are missing, deleted or not where the change says goes to ``slow``
    (``apply_change`` refuses it or applies it alone), so only unchanged nodes are reused. The gate
    has already refused ways that move another feature's nodes (:func:`refuse_at_gate`).
    """
    wanted = {ref for row in group for ref, _x, _y in _way_vertices(row) if ref is not None}
    current: dict[int, tuple[float, float]] = {}
    if wanted:
        current = {
            ref: (round(x, 7), round(y, 7))
            for ref, x, y in _run(
                "SELECT osm_id, ST_X(geom), ST_Y(geom) FROM mapping_node "
                "WHERE town_id = %(town)s AND visible AND osm_id = ANY(%(ids)s::bigint[])",
                {"town": town.pk, "ids": sorted(wanted)},
            )
        }
    ready: list[tuple[BulkChange, Vertices]] = []
    for row in group:
        vertices = _way_vertices(row)
        if all(ref is None or current.get(ref) == (round(x, 7), round(y, 7)) for ref, x, y in vertices):
            ready.append((row, vertices))
        else:
            slow.append(row)
    if not ready:
        return [], []
    n_new = sum(1 for _row, vertices in ready for ref, _x, _y in vertices if ref is None)
    fresh = iter(r[0] for r in _run(NEW_IDS_SQL, {"n": n_new})) if n_new else iter(())
    new_ids: list[int] = []
    new_lon: list[float] = []
    new_lat: list[float] = []
    way_ids: list[int] = []
    way_tags: list[str] = []
    way_refs: list[str] = []
    for row, vertices in ready:
        refs: list[int] = []
        for vertex_ref, x, y in vertices:
            ref: int = next(fresh) if vertex_ref is None else vertex_ref
            if vertex_ref is None:
                new_ids.append(ref)
                new_lon.append(x)
                new_lat.append(y)
            refs.append(ref)
        if _payload(row).get("closed"):
            refs.append(refs[0])
        way_ids.append(row.element_id)
        way_tags.append(json.dumps(_payload(row).get("tags", {})))
        way_refs.append(json.dumps(refs))
    if new_ids:
        _run_no_result(VERTEX_CREATE_SQL, {"town": town.pk, "ids": new_ids, "lon": new_lon, "lat": new_lat})
    created = _run(WAY_CREATE_SQL, {"town": town.pk, "ids": way_ids, "tags": way_tags, "refs": way_refs})
    return [row for row, _vertices in ready], created


NODE_CREATE_SQL = f"""
INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, visible, updated_at, geom)
SELECT %(town)s, v.id, 1, NULL, v.tags::jsonb, true, now(), ST_SetSRID(ST_MakePoint(v.lon, v.lat), {SRID})
FROM unnest(%(ids)s::bigint[], %(tags)s::text[], %(lon)s::float8[], %(lat)s::float8[]) AS v(id, tags, lon, lat)
ON CONFLICT (town_id, osm_id) DO NOTHING
RETURNING osm_id, version
"""

NODE_MODIFY_SQL = f"""
UPDATE mapping_node n SET tags = v.tags::jsonb, geom = ST_SetSRID(ST_MakePoint(v.lon, v.lat), {SRID}),
       version = n.version + 1, updated_at = now()
FROM unnest(%(ids)s::bigint[], %(base)s::int[], %(tags)s::text[], %(lon)s::float8[], %(lat)s::float8[])
     AS v(id, base, tags, lon, lat)
WHERE n.town_id = %(town)s AND n.osm_id = v.id AND n.visible AND n.version = v.base
RETURNING n.osm_id, n.version
"""

TAGS_MODIFY_SQL = """
UPDATE {table} e SET tags = v.tags::jsonb, version = e.version + 1, updated_at = now()
FROM unnest(%(ids)s::bigint[], %(base)s::int[], %(tags)s::text[]) AS v(id, base, tags)
WHERE e.town_id = %(town)s AND e.osm_id = v.id AND e.visible AND e.version = v.base
RETURNING e.osm_id, e.version, e.id
"""


def _run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows


def _run_no_result(sql: str, params: dict[str, Any]) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def apply_changes(
    town: Town, rows: list[BulkChange], conflicts: dict[int, str]
) -> list[tuple[int, int | None]]:
    """Apply accepted changes set-based where the store allows it, one by one elsewhere.

    Node creations and modifications, way creations (new vertices, and existing nodes left where they
    are), and tag-only changes of ways and relations are applied with a few set-based statements (same version check as ``apply_change``: a row whose version moved is a
    conflict). Everything else (deletions, reshaped ways, a second change of the same element in the
    batch) goes through ``apply_change`` one by one, each in its own savepoint.
    """
    seen: set[tuple[str, int]] = set()
    node_create: list[BulkChange] = []
    node_modify: list[BulkChange] = []
    way_create: list[BulkChange] = []
    tag_modify: dict[str, list[BulkChange]] = {ElementType.WAY: [], ElementType.RELATION: []}
    slow: list[BulkChange] = []
    for row in rows:
        _key, etype, eid, action, _base, before, after = row
        if (etype, eid) in seen or (after and after.get("joins")):  # joins modify other ways too
            slow.append(row)
            continue
        seen.add((etype, eid))
        point = _point(after) if etype == ElementType.NODE else None
        if point and action == Revision.Action.CREATE:
            node_create.append(row)
        elif point and action == Revision.Action.MODIFY:
            node_modify.append(row)
        elif etype == ElementType.WAY and action == Revision.Action.CREATE and _vertices(after):
            way_create.append(row)
        elif action == Revision.Action.MODIFY and _tags_only(etype, before, after):
            tag_modify[etype].append(row)
        else:
            slow.append(row)

    decided: list[tuple[int, int | None]] = []

    def settle(group: list[BulkChange], returned: list[tuple[Any, ...]]) -> None:
        versions = {r[0]: r[1] for r in returned}
        for key, etype, eid, *_rest in group:
            if eid in versions:
                decided.append((key, versions[eid]))
            else:
                conflicts[key] = _("%(type)s %(id)s has changed since this edit: review it alone.") % {
                    "type": etype,
                    "id": eid,
                }

    def coords(after: Payload | None) -> tuple[float, float]:
        point = _point(after)
        assert point is not None  # classified above
        return point

    if node_create:
        returned = _run(
            NODE_CREATE_SQL,
            {
                "town": town.pk,
                "ids": [r.element_id for r in node_create],
                "tags": [json.dumps(_payload(r).get("tags", {})) for r in node_create],
                "lon": [coords(r.after)[0] for r in node_create],
                "lat": [coords(r.after)[1] for r in node_create],
            },
        )
        settle(node_create, returned)
    moved: list[int] = []
    if node_modify:
        returned = _run(
            NODE_MODIFY_SQL,
            {
                "town": town.pk,
                "ids": [r.element_id for r in node_modify],
                "base": [r.base_version for r in node_modify],
                "tags": [json.dumps(_payload(r).get("tags", {})) for r in node_modify],
                "lon": [coords(r.after)[0] for r in node_modify],
                "lat": [coords(r.after)[1] for r in node_modify],
            },
        )
        settle(node_modify, returned)
        moved = [r[0] for r in returned]
    way_pks: set[int] = set()
    relation_pks: set[int] = set()
    for etype, group in tag_modify.items():
        if not group:
            continue
        table = "mapping_way" if etype == ElementType.WAY else "mapping_relation"
        returned = _run(
            TAGS_MODIFY_SQL.format(table=table),
            {
                "town": town.pk,
                "ids": [r.element_id for r in group],
                "base": [r.base_version for r in group],
                "tags": [json.dumps(_payload(r).get("tags", {})) for r in group],
            },
        )
        settle(group, returned)
        (way_pks if etype == ElementType.WAY else relation_pks).update(r[2] for r in returned)
    if way_create:
        handled, returned = _create_ways(town, way_create, slow)
        settle(handled, returned)
        way_pks.update(r[2] for r in returned)
    # Derived geometry of everything the set-based part touched (tags decide line vs area, too).
    if moved:
        dependent_ways, _rels = dependents_of_nodes(town.pk, moved)
        way_pks.update(dependent_ways)
    rebuild_way_geometries(sorted(way_pks))
    relation_pks.update(relations_of_ways(town.pk, sorted(way_pks)))
    rebuild_relation_geometries(sorted(relation_pks))
    _announce_bulk(
        town, [r.element_id for r in node_create + node_modify], sorted(way_pks), sorted(relation_pks)
    )

    for key, etype, eid, action, base, _before, after in slow:
        try:
            element = apply_change(
                town=town, element_type=etype, element_id=eid, action=action, after=after, base_version=base
            )
        except (Conflict, StoreError) as exc:
            conflicts[key] = str(exc)
        except (KeyError, TypeError, ValueError):  # a malformed payload fails alone, not the batch
            conflicts[key] = _("This change cannot be applied: review it alone.")
        else:
            decided.append((key, element.version))
    return decided


def _announce_bulk(town: Town, node_ids: list[int], way_pks: list[int], relation_pks: list[int]) -> None:
    """One published_change for the set-based part (apply_change announces its own changes)."""
    if not (node_ids or way_pks or relation_pks):
        return
    row = _run(
        """
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g) AS e FROM (
          SELECT geom AS g FROM mapping_node WHERE town_id = %(town)s AND osm_id = ANY(%(nodes)s::bigint[])
          UNION ALL SELECT geom FROM mapping_way WHERE id = ANY(%(ways)s::bigint[])
          UNION ALL SELECT geom FROM mapping_relation WHERE id = ANY(%(rels)s::bigint[])) s) x
        """,
        {"town": town.pk, "nodes": node_ids, "ways": way_pks, "rels": relation_pks},
    )[0]
    if row[0] is None:
        return
    xmin, ymin, xmax, ymax = row
    announce_published_change(Element, town, [(float(xmin), float(ymin), float(xmax), float(ymax))])

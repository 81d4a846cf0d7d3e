"""Writes to the published OSM-shaped store, as OpenStreetMap's API would apply them.

Everything that changes published data goes through :func:`apply_change` (called when a revision is
accepted or reverted), after the rules of :mod:`mapping.gate`, which every caller checks first. It keeps OSM identity: a reshaped way keeps the nodes that were there (moved
nodes are modified, new vertices are new nodes with negative ids, vertices dropped from the way are
deleted when nothing else uses them). Each changed element's version goes up by one, and derived
geometry is rebuilt for everything touched.

Payloads and states have the shapes of :mod:`mapping.payloads`.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, LinearRing, LineString, Point, Polygon
from django.db import connection, transaction
from django.utils.translation import gettext as _

from core import errors
from core.geo import SRID
from mapping.models import ELEMENT_MODELS, Element, Node, Relation, Way
from mapping.payloads import Action, ElementType, Join, Payload, State
from mapping.signals import announce_published_change
from mapping.store.derived import (
    dependents_of_nodes,
    rebuild_relation_geometries,
    rebuild_way_geometries,
    relations_of_ways,
)
from parties.models import Town


class StoreError(errors.Invalid):
    """The change cannot be applied (the message says why; HTTP 400); nothing was changed."""


class Conflict(errors.Conflict):
    """The element changed since the version the change started from (HTTP 409, as OSM's API).

    The answer carries the current version and state, so the client can show what changed.
    """

    def __init__(
        self, element_type: str, element_id: int, current_version: int | None, current: State | None
    ):
        self.element_type, self.element_id = element_type, element_id
        self.current_version, self.current = current_version, current
        super().__init__(_("Someone else changed this feature meanwhile: reload it and try again."))

    def payload(self) -> dict[str, Any]:
        return {"detail": self.message, "current_version": self.current_version, "current": self.current}


class JoinConflict(Conflict):
    """A way that the change joins (inserts a vertex into) changed since the change was made (409).

    Not the change's own element: the review's merge does not apply (the resident or agent draws
    the junction again on the current way)."""


def next_local_id() -> int:
    """A fresh negative id for an element created here (one sequence for all towns and types)."""
    with connection.cursor() as cur:
        cur.execute("SELECT -nextval('cartoparty_local_id')")
        return int(cur.fetchone()[0])


def get_element(town: Town, element_type: str, element_id: int, *, lock: bool = False) -> Element | None:
    qs = ELEMENT_MODELS[element_type]._default_manager.filter(town=town, osm_id=element_id)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def element_state(element: Element) -> State:
    """The element as a payload (the ``before`` of a revision), with its geometry as GeoJSON."""
    state: State = {"tags": dict(element.tags), "version": element.version}
    if isinstance(element, Node):
        state["geometry"] = {"type": "Point", "coordinates": [element.geom.x, element.geom.y]}
    elif isinstance(element, Way):
        nodes = {n.osm_id: n for n in Node.objects.filter(town_id=element.town_id, osm_id__in=element.nodes)}
        refs = list(element.nodes)
        closed = len(refs) > 2 and refs[0] == refs[-1]
        if closed:
            refs = refs[:-1]
        state["nodes"] = [[r, nodes[r].geom.x, nodes[r].geom.y] for r in refs if r in nodes]
        state["closed"] = closed
    elif isinstance(element, Relation):
        state["members"] = list(element.members)
    geom = getattr(element, "geom", None)
    if geom is not None:
        state["geometry"] = json.loads(geom.geojson)
    return state


def payload_geometry(element_type: str, payload: Payload | None) -> GEOSGeometry | None:
    """The geometry a payload describes (for revisions' geom_before/geom_after)."""
    if not payload:
        return None
    if element_type == ElementType.NODE:
        lon, lat = payload["geometry"]["coordinates"][:2]
        return Point(float(lon), float(lat), srid=SRID)
    if element_type == ElementType.WAY:
        coords = [(float(n[1]), float(n[2])) for n in payload.get("nodes", [])]
        if payload.get("closed") and len(coords) >= 3:
            try:
                return Polygon(LinearRing([*coords, coords[0]]), srid=SRID)
            except Exception:  # an invalid ring is reported by validation, not here
                return LineString([*coords, coords[0]], srid=SRID)
        return LineString(coords, srid=SRID) if len(coords) >= 2 else None
    geometry = payload.get("geometry")
    return GEOSGeometry(json.dumps(geometry), srid=SRID) if geometry else None


def _create_node(town: Town, osm_id: int, lon: float, lat: float, tags: dict[str, str] | None = None) -> Node:
    return Node.objects.create(
        town=town, osm_id=osm_id, version=1, tags=tags or {}, geom=Point(lon, lat, srid=SRID)
    )


def _move_node(node: Node, lon: float, lat: float) -> bool:
    if (round(node.geom.x, 7), round(node.geom.y, 7)) == (round(lon, 7), round(lat, 7)):
        return False
    node.geom = Point(lon, lat, srid=SRID)
    node.version += 1
    node.save(update_fields=["geom", "version", "updated_at"])
    return True


def _delete_orphan_nodes(town: Town, candidates: set[int], keep_way_pk: int) -> None:
    """Delete untagged nodes no longer used by any visible way but ``keep_way_pk`` (as iD does)."""
    if not candidates:
        return
    used: set[int] = set()
    for refs in (
        Way.objects.filter(town=town, visible=True, nodes__overlap=list(candidates))
        .exclude(pk=keep_way_pk)
        .values_list("nodes", flat=True)
    ):
        used.update(refs)
    for node in Node.objects.filter(town=town, osm_id__in=candidates - used, visible=True, tags={}):
        _hide(node)


def _way_refs(town: Town, payload: Payload, moved: list[int]) -> list[int]:
    """Node refs for a way payload: existing nodes are moved if needed, new vertices created."""
    refs: list[int] = []
    existing_ids = [n[0] for n in payload["nodes"] if n[0] is not None]
    existing = {
        n.osm_id: n for n in Node.objects.select_for_update().filter(town=town, osm_id__in=existing_ids)
    }
    for ref, lon, lat in payload["nodes"]:
        lon, lat = float(lon), float(lat)
        if ref is None:
            ref = next_local_id()
            _create_node(town, ref, lon, lat)
        else:
            node = existing.get(ref)
            if node is None or not node.visible:
                raise StoreError(
                    _("A point of this shape no longer exists: reload the map and draw it again.")
                )
            if _move_node(node, lon, lat):
                moved.append(ref)
        refs.append(ref)
    if payload.get("closed"):
        refs.append(refs[0])
    return refs


def _content(after: Payload | None) -> Payload:
    """The payload of a creation or modification (only a deletion comes without one)."""
    if after is None:
        raise StoreError(_("The change has no content."))
    return after


def _hide(element: Element) -> None:
    element.visible = False
    element.version += 1
    element.save(update_fields=["visible", "version", "updated_at"])


def _create(town: Town, element_type: str, element_id: int, after: Payload, moved: list[int]) -> Element:
    tags = after.get("tags", {})
    if element_type == ElementType.NODE:
        lon, lat = (float(v) for v in after["geometry"]["coordinates"][:2])
        return _create_node(town, element_id, lon, lat, tags)
    if element_type == ElementType.WAY:
        refs = _way_refs(town, after, moved)
        return Way.objects.create(town=town, osm_id=element_id, version=1, tags=tags, nodes=refs)
    return Relation.objects.create(
        town=town, osm_id=element_id, version=1, tags=tags, members=after.get("members", [])
    )


def _delete(town: Town, element: Element) -> None:
    if isinstance(element, Node):
        users = Way.objects.filter(town=town, visible=True, nodes__contains=[element.osm_id])
        if users.exists():
            raise StoreError(_("This point is part of a line or area and cannot be deleted alone."))
    _hide(element)
    if isinstance(element, Way):
        _delete_orphan_nodes(town, set(element.nodes), keep_way_pk=element.pk)


def _modify(town: Town, element: Element, after: Payload, moved: list[int]) -> None:
    element.tags = after.get("tags", element.tags)
    element.version += 1
    if isinstance(element, Node):
        lon, lat = (float(v) for v in after["geometry"]["coordinates"][:2])
        element.geom = Point(lon, lat, srid=SRID)
        element.save(update_fields=["tags", "geom", "version", "updated_at"])
        moved.append(element.osm_id)
    elif isinstance(element, Way):
        old_refs = set(element.nodes)
        element.nodes = _way_refs(town, after, moved)
        element.save(update_fields=["tags", "nodes", "version", "updated_at"])
        _delete_orphan_nodes(town, old_refs - set(element.nodes), keep_way_pk=element.pk)
    elif isinstance(element, Relation):
        element.members = after.get("members", element.members)
        element.save(update_fields=["tags", "members", "version", "updated_at"])


@transaction.atomic
def apply_change(
    *,
    town: Town,
    element_type: str,
    element_id: int,
    action: str,
    after: Payload | None,
    base_version: int | None,
) -> Element:
    """Apply one change to the published store; returns the element as it now is.

    Preconditions: runs in its own transaction (atomic); locks the element row (SELECT ... FOR
    UPDATE), so two concurrent applies of the same element serialize and the loser sees the new
    version. Raises :class:`Conflict` if the element's version is not ``base_version`` (creations:
    if the element already exists), :class:`StoreError` for changes that cannot be applied.
    """
    element = get_element(town, element_type, element_id, lock=True)
    if action == Action.CREATE:
        if element is not None:
            raise Conflict(element_type, element_id, element.version, element_state(element))
    else:
        if element is None or not element.visible:
            raise Conflict(element_type, element_id, None, None)
        if element.version != base_version:
            raise Conflict(element_type, element_id, element.version, element_state(element))

    extents = [_extent_of(element)] if element is not None else []
    moved_nodes: list[int] = []
    if element is None:  # a creation (checked above)
        element = _create(town, element_type, element_id, _content(after), moved_nodes)
    elif action == Action.DELETE:
        _delete(town, element)
    else:
        _modify(town, element, _content(after), moved_nodes)
    touched_ways = [element.pk] if isinstance(element, Way) and element.visible else []
    if action != Action.DELETE:
        touched_ways += _apply_joins(town, element, _content(after))

    # Derived geometry: ways using moved nodes, the touched way, relations using any of them.
    way_pks, _rels = dependents_of_nodes(town.pk, moved_nodes) if moved_nodes else ([], [])
    way_pks = sorted(set(way_pks) | set(touched_ways))
    relation_pks = set(relations_of_ways(town.pk, way_pks))
    # The other ways and relations rebuilt here change shape too (a moved vertex of a long road):
    # listeners that ship whole features (the map-data tiles) need their extents as well.
    own_way = element.pk if isinstance(element, Way) else None
    own_relation = element.pk if isinstance(element, Relation) else None
    dependents = ([pk for pk in way_pks if pk != own_way], [pk for pk in relation_pks if pk != own_relation])
    shapes_before = _shapes(*dependents)
    rebuild_way_geometries(way_pks)
    if isinstance(element, Relation) and element.visible:
        relation_pks.add(element.pk)
    rebuild_relation_geometries(sorted(relation_pks))
    shapes_after = _shapes(*dependents)
    for key in shapes_before.keys() | shapes_after.keys():
        shape_before, shape_after = shapes_before.get(key), shapes_after.get(key)
        if (shape_before and shape_before[0]) != (shape_after and shape_after[0]):
            extents += [shape[1] for shape in (shape_before, shape_after) if shape]
    element.refresh_from_db()
    extents.append(_extent_of(element))
    announce_published_change(Element, town, [e for e in extents if e])  # tile and export caches
    return element


def _apply_joins(town: Town, element: Element, after: Payload) -> list[int]:
    """Insert the change's junction vertices into the ways it joins (see :class:`mapping.payloads.Join`).

    Each joined way is modified once (version + 1). When it changed since the join's base version,
    the junction still goes in if its segment is still there: the same two nodes, consecutive and
    where they were (as iD rebases an edit); otherwise :class:`JoinConflict` (409). Returns the
    joined ways' primary keys (their derived geometry is rebuilt by the caller)."""
    joins = after.get("joins") or []
    if not joins:
        return []
    by_way: dict[int, list[tuple[Join, int]]] = {}
    for join in joins:
        if isinstance(element, Node):
            ref = element.osm_id
        elif isinstance(element, Way) and 0 <= join.get("vertex", -1) < len(element.nodes):
            ref = element.nodes[join["vertex"]]
        else:
            raise StoreError(_("A junction's point is not a point of this line."))
        by_way.setdefault(join["way"], []).append((join, ref))
    pks = []
    for way_id, inserts in sorted(by_way.items()):
        way = get_element(town, ElementType.WAY, way_id, lock=True)
        if not isinstance(way, Way) or not way.visible:
            raise JoinConflict(ElementType.WAY, way_id, None, None)
        nodes = list(way.nodes)
        places = sorted((_join_place(town, way, join, element), ref) for join, ref in inserts)
        for place, ref in reversed(places):  # from the end: earlier indexes stay valid
            if ref in nodes:
                raise StoreError(_("This point is already part of that line."))
            nodes.insert(place + 1, ref)
        way.nodes = nodes
        way.version += 1
        way.save(update_fields=["nodes", "version", "updated_at"])
        pks.append(way.pk)
    return pks


def _join_place(town: Town, way: Way, join: Join, element: Element) -> int:
    """The index in ``way.nodes`` after which the junction goes (see :func:`_apply_joins`).

    From the base version, the join's segment. From a later version, the same segment found again:
    its two nodes where they were, with only junction points inserted between them since (other
    accepted joins, which lie on it); the new one goes among those in order along the segment."""
    segment = join["segment"]
    if way.version == join["base_version"]:
        if not 0 <= segment < len(way.nodes) - 1:
            raise StoreError(_("A junction's segment is not a segment of that line."))
        return segment
    conflict = JoinConflict(ElementType.WAY, way.osm_id, way.version, element_state(way))
    before = join.get("before") or {}
    vertices = list(before.get("nodes") or [])
    if before.get("closed") and vertices:
        vertices.append(vertices[0])
    if not 0 <= segment < len(vertices) - 1:
        raise conflict
    (a, ax, ay), (b, bx, by) = vertices[segment], vertices[segment + 1]
    refs = list(way.nodes)
    for i, ref in enumerate(refs[:-1]):
        if ref != a or b not in refs[i + 1 :]:
            continue
        between = refs[i + 1 : refs.index(b, i + 1)]
        where = {
            n.osm_id: (n.geom.x, n.geom.y)
            for n in Node.objects.filter(town=town, osm_id__in=[a, b, *between], visible=True)
        }
        if not (_near(where.get(a), (ax, ay)) and _near(where.get(b), (bx, by))):
            continue  # the segment moved: the junction would not be on it
        along = [_along(where.get(r), (ax, ay), (bx, by)) for r in between]
        if any(t is None for t in along):
            continue  # something else than junction points was put in between
        mine = _along(_position(element, join), (ax, ay), (bx, by))
        if mine is None:
            raise conflict
        return i + sum(1 for t in along if t is not None and t < mine)
    raise conflict


def _near(p: tuple[float, float] | None, q: tuple[float, float]) -> bool:
    return p is not None and abs(p[0] - q[0]) < 5e-8 and abs(p[1] - q[1]) < 5e-8


def _along(p: tuple[float, float] | None, a: tuple[float, float], b: tuple[float, float]) -> float | None:
    """Where p lies along segment a-b (0 to 1), or None when it is not on it (about 0.5 m)."""
    if p is None:
        return None
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = dx * dx + dy * dy
    if length == 0:
        return None
    t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length
    off = abs((p[0] - a[0]) * dy - (p[1] - a[1]) * dx) / length**0.5
    return t if 0 <= t <= 1 and off < 5e-6 else None


def _position(element: Element, join: Join) -> tuple[float, float] | None:
    if isinstance(element, Node):
        return (element.geom.x, element.geom.y)
    if isinstance(element, Way):
        node = Node.objects.filter(town_id=element.town_id, osm_id=element.nodes[join["vertex"]]).first()
        return (node.geom.x, node.geom.y) if node else None
    return None


def _shapes(
    way_pks: list[int], relation_pks: list[int]
) -> dict[tuple[str, int], tuple[str, tuple[float, float, float, float]]]:
    """{(table, pk): (digest of the derived geometry, its extent)} of these ways and relations."""
    if not (way_pks or relation_pks):
        return {}
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT t, id, md5(ST_AsEWKB(geom)), ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
            FROM (SELECT 'way' AS t, id, geom FROM mapping_way WHERE id = ANY(%(ways)s::bigint[])
                  UNION ALL
                  SELECT 'relation', id, geom FROM mapping_relation WHERE id = ANY(%(rels)s::bigint[])) s
            WHERE geom IS NOT NULL
            """,
            {"ways": way_pks, "rels": relation_pks},
        )
        return {(t, pk): (digest, (x0, y0, x1, y1)) for t, pk, digest, x0, y0, x1, y1 in cur.fetchall()}


def _extent_of(element: Element) -> tuple[float, float, float, float] | None:
    geom = getattr(element, "geom", None)
    return geom.extent if geom is not None else None

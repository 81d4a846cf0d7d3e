"""One gate for every write: the rules a change must pass before :func:`mapping.store.apply_change`.

Every path that changes map data calls :func:`check_change` (or :func:`check_changes` for many at
once): a resident's edit (``services.submit_edit``), an amended edit, an agent's fix, a single or
bulk accept, a revert (``review.services``), and, through :func:`missing_references`, the upstream
merge (``mapping.upstream``). The store stays the only writer; the gate only says no, with a reason a
resident can read (never coordinates or internal ids), in the reader's language.

The rules:

* **Valid payload**: tags and shape as OSM accepts them (:mod:`mapping.validation`).
* **References exist in the same town**: every node of a way and every member of a relation is a
  visible element of the change's town (elements created earlier in the same batch count), and a
  deletion does not take away an element that a way or relation still uses (as OSM's API refuses).
* **Every touched position lies in the party area** (``area``): a created or deleted point, each
  point of a way that is new, moved, added to it or dropped from it, at its position before *and*
  after the change; the position before is the one in the store, so a point far outside cannot be
  moved in. A way or relation edited without moving anything (tags) must still reach into the area,
  and so must each member a relation gains or loses.
* **A way moves only its own points**: an existing node that was not part of the way before keeps
  its place (it is a connection, as in iD). Moving it would drag the other features using it from a
  change that does not record where it was, so a revert could not put it back; the resident moves
  it by editing the feature it belongs to.

Paths without a party pass ``area=None`` and get the town's rules only: a revert restores a state
the town had (it must be able to remove a point that reached the outside), the upstream merge and
the importer take OpenStreetMap's data, whose extent *is* the town.

Set-wise: whatever the number of changes, the references and positions they need are read in one
query (none when nothing is referenced), so a bulk accept of a whole evening costs the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.utils.translation import gettext as _

from core.errors import Invalid
from mapping.connectivity import on_segment
from mapping.models import Way
from mapping.payloads import ElementType, Join, Payload, State
from mapping.store import Conflict, element_state, payload_geometry
from mapping.validation import Issue, tags_as_dict, validate_payload

# What the one query found: {(type, id): its position or shape, None when not asked for}.
Found = dict[tuple[str, int], GEOSGeometry | None]

# Two positions closer than this (degrees, about 5 mm) are the same: the editor rounds to 7 decimals.
SAME_PLACE = 5e-8


class Refused(Invalid):
    """The change breaks a rule of the gate (HTTP 400); ``issues`` say which, in plain language."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__(" ".join(dict.fromkeys(i.message for i in issues)))


@dataclass
class Change:
    """One change as the store will apply it.

    ``before`` is the element as the change found it (a revision's ``before``; None for a creation),
    ``after`` the payload in the store's format (None for a deletion). ``area`` is the party's area,
    or None on paths without a party (see the module docstring).
    """

    element_type: str
    action: str
    before: State | None
    after: Payload | None
    area: GEOSGeometry | None = None
    element_id: int | None = None  # needed for deletions (who still uses it)
    issues: list[Issue] = field(default_factory=list)
    # The area as a prepared shapely geometry, shared by the changes of one party (see _prepare).
    inside: Any = field(default=None, repr=False)


def normalise(element_type: str, after: Any) -> Payload:
    """Validate a create/modify payload and return it in the store's format (tags as a dict).

    Raises :class:`Refused`. Every path that takes a payload from a person (resident, author of an
    amendment, agent's fix) starts here, so they all accept and refuse the same payloads.
    """
    if not isinstance(after, dict):
        raise Refused([Issue("geometry", "format", _("The change has no shape."))])
    issues = validate_payload(element_type, after)
    if issues:
        raise Refused(issues)
    tags = tags_as_dict(after.get("tags", {}))
    payload: Payload
    if element_type == ElementType.NODE:
        lon, lat = after["geometry"]["coordinates"][:2]
        payload = {"tags": tags, "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]}}
    elif element_type == ElementType.WAY:
        payload = {
            "tags": tags,
            "nodes": [[ref, float(lon), float(lat)] for ref, lon, lat in after["nodes"]],
            "closed": bool(after.get("closed")),
        }
    else:
        return {"tags": tags, "members": list(after["members"])}
    if after.get("joins"):  # the client's fields only: ``before`` is the server's (bind_joins)
        keys = ("way", "base_version", "segment") + (("vertex",) if element_type == ElementType.WAY else ())
        payload["joins"] = [{k: j[k] for k in keys} for j in after["joins"]]  # type: ignore[misc]  # Join keys
    return payload


def bind_joins(
    town_id: int, element_type: str, action: str, payload: Payload | None, known: Sequence[Join] = ()
) -> None:
    """Record in each join of ``payload`` the state of the way it joins (``before``), as it is now.

    Called on every path that takes a payload from a person (submit, amendment, agent's fix), after
    :func:`normalise`. Raises :class:`Refused` for a way that is not a visible way of the town, a
    join a vertex preset or a way cannot make (a modified point), and :class:`mapping.store.Conflict`
    (409) when the way changed since ``base_version``. The geometry rules are :func:`check_change`'s.

    ``known``: joins the server recorded before (the revision an agent fixes or its author amends); a
    join sent again unchanged keeps its record, so a way changed since is handled at accept time as
    for the revision itself (:func:`mapping.store._join_place`).
    """
    joins = (payload or {}).get("joins") or []
    if not joins:
        return
    recorded = {_join_key(j): j["before"] for j in known if j.get("before")}
    for join in joins:
        if _join_key(join) in recorded:
            join["before"] = recorded[_join_key(join)]
    joins = [j for j in joins if "before" not in j]
    if not joins:
        return
    if element_type == ElementType.NODE and action != "create":
        raise Refused([Issue("joins", "join_format", _("Only a new point can be inserted into a line."))])
    ways = {
        w.osm_id: w
        for w in Way.objects.filter(town_id=town_id, visible=True, osm_id__in={j["way"] for j in joins})
    }
    for join in joins:
        way = ways.get(join["way"])
        if way is None:
            raise Refused(
                [
                    Issue(
                        "joins",
                        "unknown_way",
                        _("A line this change joins no longer exists: reload the map."),
                    )
                ]
            )
        if way.version != join["base_version"]:
            raise Conflict(ElementType.WAY, way.osm_id, way.version, element_state(way))
        state = element_state(way)
        join["before"] = {
            "tags": state["tags"],
            "nodes": state["nodes"],
            "closed": state["closed"],
            "version": state["version"],
        }


def check_change(town_id: int, change: Change) -> None:
    """Raise :class:`Refused` unless ``change`` passes every rule (at most one query)."""
    issues = check_changes(town_id, [change])[0]
    if issues:
        raise Refused(issues)


def check_changes(
    town_id: int, changes: Sequence[Change], *, created: Iterable[tuple[str, int]] = ()
) -> list[list[Issue]]:
    """The issues of each change, in order (an empty list: it may be applied). One query at most.

    ``created``: (type, id) of elements that earlier changes of the same batch create, which count as
    existing.
    """
    for change in changes:
        change.issues = []
        if change.after is not None:
            change.issues = validate_payload(change.element_type, change.after)
    valid = [c for c in changes if not c.issues]
    found = _lookup(town_id, valid)
    for kind, ref in created:
        found.setdefault((kind, ref), None)
    _prepare(valid, found)
    for change in valid:
        if change.after is None and (f"used:{change.element_type}", change.element_id) in found:
            _refuse(
                change,
                "geometry",
                "still_used",
                _("Other features still use this one: change or delete them first."),
            )
        if change.element_type == ElementType.NODE:
            _check_node(change)
        elif change.element_type == ElementType.WAY:
            _check_way(change, found)
        else:
            _check_relation(change, found)
        if change.after and change.after.get("joins"):
            _check_joins(change, found)
    return [c.issues for c in changes]


def missing_references(town_id: int, references: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (type, id) pairs that are not visible elements of the town (one query)."""
    wanted = set(references)
    found = _query(town_id, wanted, set())
    return wanted - found.keys()


# --- Reading what the changes refer to ----------------------------------------------------------


def _refs(change: Change) -> set[tuple[str, int]]:
    after = change.after or {}
    joined: set[tuple[str, int]] = {(ElementType.WAY, int(j["way"])) for j in after.get("joins", [])}
    if change.element_type == ElementType.NODE:
        return joined
    if change.element_type == ElementType.WAY:
        refs = {n[0] for n in after.get("nodes", [])} | {n[0] for n in (change.before or {}).get("nodes", [])}
        return {(ElementType.NODE, int(r)) for r in refs if r is not None} | joined
    if change.element_type == ElementType.RELATION:
        members = after.get("members", []) + (change.before or {}).get("members", [])
        return {(m["type"], int(m["ref"])) for m in members}
    return set()


def _member_keys(state: Payload | None) -> set[tuple[str, int]]:
    return {(m["type"], int(m["ref"])) for m in (state or {}).get("members", [])}


def _lookup(town_id: int, changes: Sequence[Change]) -> dict[tuple[str, int], GEOSGeometry | None]:
    wanted: set[tuple[str, int]] = set()
    shapes: set[tuple[str, int]] = set()  # members gained or lost, whose shape the area rule needs
    for change in changes:
        wanted |= _refs(change)
        if change.area is not None and change.element_type == ElementType.RELATION:
            shapes |= _member_keys(change.before) ^ _member_keys(change.after)
    deleted = {
        (c.element_type, c.element_id) for c in changes if c.after is None and c.element_id is not None
    }
    return _query(town_id, wanted, shapes, deleted)


LOOKUP_SQL = """
SELECT 'node', osm_id, ST_AsEWKB(geom) FROM mapping_node
 WHERE town_id = %(town)s AND visible AND osm_id = ANY(%(node)s::bigint[])
UNION ALL
SELECT 'way', osm_id, CASE WHEN osm_id = ANY(%(way_shapes)s::bigint[]) THEN ST_AsEWKB(geom) END FROM mapping_way
 WHERE town_id = %(town)s AND visible AND osm_id = ANY(%(way)s::bigint[])
UNION ALL
SELECT 'relation', osm_id, CASE WHEN osm_id = ANY(%(relation_shapes)s::bigint[]) THEN ST_AsEWKB(geom) END
  FROM mapping_relation
 WHERE town_id = %(town)s AND visible AND osm_id = ANY(%(relation)s::bigint[])
"""


def _query(
    town_id: int,
    wanted: set[tuple[str, int]],
    shapes: set[tuple[str, int]],
    deleted: Set[tuple[str, int]] = frozenset(),
) -> Found:
    """{(type, id): geometry or None} of the visible elements among ``wanted``: nodes always with their
    position, ways and relations with their shape only when in ``shapes``; plus ``("used:<type>", id)``
    for each element of ``deleted`` that a visible feature still uses."""
    if not (wanted or deleted):
        return {}
    params: dict[str, Any] = {"town": town_id}
    sql = LOOKUP_SQL
    for kind in ElementType:
        params[kind] = sorted(ref for k, ref in wanted if k == kind)
        params[f"{kind}_shapes"] = sorted(ref for k, ref in shapes if k == kind)
        params[f"{kind}_deleted"] = sorted(ref for k, ref in deleted if k == kind)
        if params[f"{kind}_deleted"]:
            users = users_sql(kind, ids=f"%({kind}_deleted)s::bigint[]")
            sql += f"UNION ALL SELECT 'used:{kind}', u.ref, NULL::bytea FROM ({users}) u(ref)\n"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return {
        (kind, ref): GEOSGeometry(memoryview(wkb)) if wkb is not None else None for kind, ref, wkb in rows
    }


# --- The rules ---------------------------------------------------------------------------------


class _Area:
    """A party area as a prepared shapely geometry, with the answers for the positions asked in
    advance: one vectorised test for a whole batch (point by point, GEOS objects made the gate a
    third of a 10,000-revision bulk accept)."""

    def __init__(self, area: GEOSGeometry):
        self.shape = shapely.from_wkb(bytes(area.wkb))
        shapely.prepare(self.shape)
        self.wanted: set[tuple[float, float]] = set()
        self.inside: set[tuple[float, float]] = set()

    def settle(self) -> None:
        """Answer every wanted position at once."""
        points = list(self.wanted)
        if points:
            mask = shapely.intersects_xy(self.shape, [p[0] for p in points], [p[1] for p in points])
            self.inside = {p for p, ok in zip(points, mask, strict=True) if ok}

    def covers(self, lon: float, lat: float) -> bool:
        point = (float(lon), float(lat))
        if point in self.wanted:
            return point in self.inside
        return bool(shapely.intersects_xy(self.shape, *point))  # not asked in advance


def _positions(change: Change, found: Found) -> Iterable[tuple[float, float]]:
    """Every position the rules may test for this change."""
    for state in (change.before, change.after):
        if not state:
            continue
        if change.element_type == ElementType.NODE:
            lon, lat = state["geometry"]["coordinates"][:2]
            yield float(lon), float(lat)
        elif change.element_type == ElementType.WAY:
            for ref, lon, lat in state.get("nodes", []):
                yield float(lon), float(lat)
                stored = found.get((ElementType.NODE, int(ref))) if ref is not None else None
                if isinstance(stored, Point):
                    yield stored.x, stored.y


def _prepare(changes: Sequence[Change], found: Found) -> None:
    """Each change's area (:class:`_Area`, one per area object: a bulk accept shares one per party),
    with every position its rules test already answered."""
    areas: dict[int, _Area] = {}
    for change in changes:
        if change.area is not None:
            change.inside = areas.get(id(change.area)) or areas.setdefault(
                id(change.area), _Area(change.area)
            )
            change.inside.wanted.update(_positions(change, found))
    for area in areas.values():
        area.settle()


def _inside(change: Change, lon: float, lat: float) -> bool:
    """Whether the point lies in the change's area, its outline included."""
    return bool(change.inside.covers(lon, lat))


def _same_place(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < SAME_PLACE and abs(a[1] - b[1]) < SAME_PLACE


def _refuse(change: Change, field_name: str, code: str, message: str) -> None:
    if not any(i.code == code for i in change.issues):
        change.issues.append(Issue(field_name, code, message))


def _outside_feature(change: Change) -> None:
    _refuse(change, "geometry", "outside_area", _("This feature is outside the party area."))


def _check_node(change: Change) -> None:
    if change.area is None:
        return
    before = change.before and change.before["geometry"]["coordinates"][:2]
    after = change.after and change.after["geometry"]["coordinates"][:2]
    moved = before is not None and after is not None and not _same_place(tuple(before), tuple(after))
    if after is not None and not _inside(change, *after):
        if moved:
            _refuse(change, "geometry", "moved_out", _("This change moves a point outside the party area."))
        elif before is None:
            _refuse(change, "geometry", "added_out", _("This change adds a point outside the party area."))
    if before is not None and not _inside(change, *before):
        if moved:
            _refuse(
                change,
                "geometry",
                "moved_in",
                _("This change moves a point that lies outside the party area."),
            )
        else:
            _outside_feature(change)


def _check_way(change: Change, found: Found) -> None:
    after_nodes = (change.after or {}).get("nodes", [])
    before_nodes = (change.before or {}).get("nodes", [])
    if any(ref is not None and (ElementType.NODE, int(ref)) not in found for ref, _x, _y in after_nodes):
        _refuse(
            change, "geometry", "unknown_node", _("A point of this shape no longer exists: reload the map.")
        )
        return
    own = {int(ref) for ref, _x, _y in before_nodes if ref is not None}
    area = change.area
    touched = False
    for ref, lon, lat in after_nodes:
        position = (float(lon), float(lat))
        if ref is None:  # a new point
            touched = True
            if area is not None and not _inside(change, *position):
                _refuse(
                    change, "geometry", "added_out", _("This change adds a point outside the party area.")
                )
            continue
        stored = found[(ElementType.NODE, int(ref))]
        now = (stored.x, stored.y) if isinstance(stored, Point) else position
        moved = not _same_place(now, position)
        if moved and int(ref) not in own:
            _refuse(
                change,
                "geometry",
                "moves_other",
                _("This change moves a point of another feature: edit that feature instead."),
            )
            continue
        if not (moved or int(ref) not in own):
            continue
        touched = True
        if area is None:
            continue
        if not _inside(change, *position):
            code = "moved_out" if moved else "added_out"
            message = (
                _("This change moves a point outside the party area.")
                if moved
                else _("This change adds a point outside the party area.")
            )
            _refuse(change, "geometry", code, message)
        if moved and not _inside(change, *now):
            _refuse(
                change,
                "geometry",
                "moved_in",
                _("This change moves a point that lies outside the party area."),
            )
    if area is None:
        return
    kept = {int(ref) for ref, _x, _y in after_nodes if ref is not None}
    for ref, lon, lat in before_nodes:
        if change.after is not None and ref is not None and int(ref) not in kept:
            touched = True
            if not _inside(change, lon, lat):
                _refuse(
                    change,
                    "geometry",
                    "removed_out",
                    _("This change removes a point outside the party area."),
                )
    if not touched:  # tags only, or a deletion: the feature must reach into the area
        shape = payload_geometry(change.element_type, change.after or change.before)
        if shape is not None and not area.intersects(shape):
            _outside_feature(change)


def _check_relation(change: Change, found: Found) -> None:
    members = _member_keys(change.after)
    if any(key not in found for key in members):
        _refuse(
            change,
            "members",
            "unknown_member",
            _("A member of this relation no longer exists: reload the map."),
        )
        return
    area = change.area
    if area is None:
        return
    changed = _member_keys(change.before) ^ members
    for key in changed:
        shape = found.get(key)
        if shape is not None and not area.intersects(shape):
            _refuse(
                change,
                "members",
                "member_out",
                _("This change adds or removes a member outside the party area."),
            )
    if not changed:
        geometry = (change.before or change.after or {}).get("geometry")
        shape = payload_geometry(ElementType.RELATION, {"geometry": geometry}) if geometry else None
        if shape is not None and not area.intersects(shape):
            _outside_feature(change)


def _join_key(join: Join) -> tuple[int, int, int, int]:
    return (join["way"], join["base_version"], join["segment"], join.get("vertex", -1))


def _check_joins(change: Change, found: Found) -> None:
    """Each join: a visible way of the town (not the element itself), recorded when the change was
    made (``before``), and the vertex lies on the named segment of that way as it was then. The
    vertex's position in the party area is checked with the element's own points above."""
    after = change.after or {}
    if change.element_type == ElementType.NODE and change.action != "create":
        _refuse(change, "joins", "join_format", _("Only a new point can be inserted into a line."))
        return
    for join in after.get("joins", []):
        if (ElementType.WAY, int(join["way"])) not in found or (
            change.element_type == ElementType.WAY and join["way"] == change.element_id
        ):
            _refuse(
                change,
                "joins",
                "unknown_way",
                _("A line this change joins no longer exists: reload the map."),
            )
            continue
        if not _on_its_segment(change, join):
            _refuse(
                change,
                "joins",
                "join_off_segment",
                _("A junction point does not lie on the line it joins: draw it again on the line."),
            )


def _on_its_segment(change: Change, join: Join) -> bool:
    before = join.get("before")
    if not isinstance(before, dict) or before.get("version") != join["base_version"]:
        return False  # not recorded by the server (bind_joins): never trusted
    coords = [(float(n[1]), float(n[2])) for n in before.get("nodes", [])]
    if before.get("closed") and coords:
        coords.append(coords[0])
    segment = join["segment"]
    if not 0 <= segment < len(coords) - 1:
        return False
    after = change.after or {}
    if change.element_type == ElementType.NODE:
        lon, lat = after["geometry"]["coordinates"][:2]
    else:
        _ref, lon, lat = after["nodes"][join["vertex"]]
    return on_segment((float(lon), float(lat)), coords[segment], coords[segment + 1])


# --- Deletions that would leave a reference dangling ----------------------------------------------

# The ids of elements of one kind that visible features of the town use (way nodes, relation members).
# ``{local}`` narrows the users to features changed here: what the importer must not delete under them.
USERS_SQL = {
    "node": """
        SELECT r.ref FROM mapping_way w CROSS JOIN LATERAL unnest(w.nodes) AS r(ref)
        WHERE w.town_id = %(town)s AND w.visible {local} AND w.nodes && {ids}
          AND r.ref = ANY({ids})
        UNION
        SELECT (m->>'ref')::bigint FROM mapping_relation w CROSS JOIN LATERAL jsonb_array_elements(w.members) m
        WHERE w.town_id = %(town)s AND w.visible {local} AND m->>'type' = 'node'
          AND (m->>'ref')::bigint = ANY({ids})
    """,
    "member": """
        SELECT (m->>'ref')::bigint FROM mapping_relation w CROSS JOIN LATERAL jsonb_array_elements(w.members) m
        WHERE w.town_id = %(town)s AND w.visible {local} AND m->>'type' = '{kind}'
          AND (m->>'ref')::bigint = ANY({ids})
    """,
}
CHANGED_HERE = "AND (w.base_version IS NULL OR w.version <> w.base_version)"


def users_sql(kind: str, *, ids: str = "%(ids)s::bigint[]", changed_here: bool = False) -> str:
    """SQL (parameter ``town``) of the ids among ``ids`` (an SQL array of elements of ``kind``) that
    visible features of the town use; ``changed_here``: only features changed here."""
    template = USERS_SQL["node" if kind == "node" else "member"]
    return template.format(local=CHANGED_HERE if changed_here else "", ids=ids, kind=kind)


def features_using(town_id: int, kind: str, ids: Iterable[int]) -> set[int]:
    """The ids among ``ids`` (elements of ``kind``) that visible features of the town still use.

    Hiding such an element would leave a way or relation pointing at nothing: the upstream merge
    refuses to, and the importer keeps it (see :data:`mapping.store.load.DELETE_SQL`).
    """
    ids = sorted(set(ids))
    if not ids:
        return set()
    with connection.cursor() as cur:
        cur.execute(users_sql(kind), {"town": town_id, "ids": ids})
        return {r[0] for r in cur.fetchall()}

"""Keeping in step with OpenStreetMap: merge upstream changes into elements changed here.

``import_osm`` of a newer extract sets aside the elements with accepted local changes that upstream
changed or deleted (temporary tables ``up_*``, see mapping.osm_import) and calls
:func:`reconcile_upstream` inside its transaction. For each element:

- **Three-way merge, key by key, as iD does.** The common base is the element as it was at the
  OSM version the first local change started from (that revision's ``before``). A tag changed on
  one side only takes that side's value; both sides agreeing is no conflict. The shape (location,
  node list, members) is merged the same way, as one value.
- Merged cleanly: the row gets the merged state and the new base version (version = base when
  nothing local remains, base + 1 otherwise), so the next osmChange is computed against the
  latest base.
- A merge that would refer to elements the town does not have (a node or member our side added and
  that is gone here: :mod:`mapping.gate`'s reference rule) is not written either.
- Otherwise an :class:`~mapping.models.UpstreamConflict` is opened ("needs merge"); the element keeps
  our state, is rebased on the new version, and is held back from osmChange until an agent
  chooses (:func:`resolve_conflict`).

Local creations that now exist upstream (same kind of feature within a few metres) are flagged
"maybe already in OSM", also held back from osmChange until an agent decides.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Invalid
from mapping.gate import features_using, missing_references
from mapping.models import Revision, UpstreamConflict
from mapping.signals import announce_published_change, upstream_conflicts_changed
from mapping.store import next_local_id
from mapping.store.rows import rebuild_touched, renumber_node_in_ways, write_state
from parties.models import Town, User
from parties.permissions import is_agent_of

KINDS = ("node", "way", "relation")
NEAR_NODE_METRES = 10.0
NEAR_WAY_METRES = 5.0
# What makes two features "the same kind": the first of these keys present, with its value.
FEATURE_KEYS = (
    "amenity", "shop", "tourism", "leisure", "emergency", "healthcare", "office", "craft", "historic",
    "highway", "railway", "waterway", "building", "landuse", "natural", "man_made", "barrier",
)  # fmt: skip
FEATURE_KIND_SQL = "COALESCE(" + ", ".join(f"'{k}=' || ({{t}}->>'{k}')" for k in FEATURE_KEYS) + ")"


class MergeError(Invalid):
    """The choice cannot be applied (the message says why; HTTP 400)."""


def _shape_of_state(kind: str, state: dict | None) -> Any:
    """The comparable shape of a revision payload (see mapping.models.Revision)."""
    if state is None:
        return None
    if kind == "node":
        lon, lat = state["geometry"]["coordinates"][:2]
        return [round(float(lon), 7), round(float(lat), 7)]
    if kind == "way":
        refs = [n[0] for n in state.get("nodes", [])]
        return refs + refs[:1] if state.get("closed") and refs else refs
    return state.get("members", [])


def _norm_shape(kind: str, shape: Any) -> Any:
    if kind == "node" and shape is not None:
        return [round(float(shape[0]), 7), round(float(shape[1]), 7)]
    return shape


def merge_tags(base: dict, local: dict, upstream: dict) -> tuple[dict, list[str]]:
    """Three-way, key by key: (merged tags, keys changed differently on both sides)."""
    merged: dict = {}
    conflicts: list[str] = []
    for key in sorted(set(base) | set(local) | set(upstream)):
        b, lo, up = base.get(key), local.get(key), upstream.get(key)
        if lo == up or up == b:
            value = lo
        elif lo == b:
            value = up
        else:
            conflicts.append(key)
            value = lo
        if value is not None:
            merged[key] = value
    return merged, conflicts


def _base_state(town: Town, kind: str, osm_id: int, old_base: int) -> dict | None:
    revision = (
        Revision.objects.filter(
            town=town,
            element_type=kind,
            element_id=osm_id,
            status=Revision.Status.ACCEPTED,
            base_version=old_base,
        )
        .order_by("created_at", "id")
        .first()
    )
    if revision is None or revision.before is None:
        return None
    return {"tags": revision.before.get("tags", {}), "shape": _shape_of_state(kind, revision.before)}


LOCAL_SQL = {
    "node": "SELECT e.tags, e.visible, jsonb_build_array(ST_X(e.geom), ST_Y(e.geom)) FROM mapping_node e",
    "way": "SELECT e.tags, e.visible, to_jsonb(e.nodes) FROM mapping_way e",
    "relation": "SELECT e.tags, e.visible, e.members FROM mapping_relation e",
}


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def reconcile_upstream(town: Town, cur) -> None:
    """Import hook (see the module docstring). Runs inside import_osm's transaction."""
    touched: dict[str, list[int]] = {k: [] for k in KINDS}
    for kind in KINDS:
        cur.execute(f"SELECT osm_id, old_base, new_version, gone, tags, shape FROM up_{kind} ORDER BY osm_id")
        for osm_id, old_base, new_version, gone, up_tags, up_shape in cur.fetchall():
            cur.execute(LOCAL_SQL[kind] + " WHERE e.town_id = %s AND e.osm_id = %s", [town.pk, osm_id])
            local_tags, visible, local_shape = cur.fetchone()
            local = {"tags": _load(local_tags), "shape": _norm_shape(kind, _load(local_shape))}
            upstream = None if gone else {"tags": _load(up_tags), "shape": _norm_shape(kind, _load(up_shape))}
            base = _base_state(town, kind, osm_id, old_base)
            if gone and not visible:  # both deleted it: nothing left to upload
                write_state(
                    cur, town, kind, osm_id, None, version=old_base, base_version=old_base, visible=False
                )
                continue
            if gone or not visible or base is None:
                conflict_kind = (
                    UpstreamConflict.Kind.DELETED_UPSTREAM
                    if gone
                    else UpstreamConflict.Kind.DELETED_HERE
                    if not visible
                    else UpstreamConflict.Kind.EDITED
                )
                _open(
                    town,
                    kind,
                    osm_id,
                    conflict_kind,
                    base,
                    local if visible else None,
                    upstream,
                    new_version,
                    [],
                )
                if not gone:
                    write_state(
                        cur, town, kind, osm_id, None, version=new_version + 1, base_version=new_version
                    )
                continue
            assert upstream is not None  # None only when gone (handled above)
            tags, keys = merge_tags(base["tags"], local["tags"], upstream["tags"])
            shape, shape_conflict = _merge_value(base["shape"], local["shape"], upstream["shape"])
            if shape_conflict:
                keys.append("@shape")
            if keys:
                _open(
                    town, kind, osm_id, UpstreamConflict.Kind.EDITED, base, local, upstream, new_version, keys
                )
                write_state(cur, town, kind, osm_id, None, version=new_version + 1, base_version=new_version)
                continue
            if _dangling(town, kind, shape, upstream["shape"]):
                _open(
                    town,
                    kind,
                    osm_id,
                    UpstreamConflict.Kind.EDITED,
                    base,
                    local,
                    upstream,
                    new_version,
                    ["@shape"],
                )
                write_state(cur, town, kind, osm_id, None, version=new_version + 1, base_version=new_version)
                continue
            merged = {"tags": tags, "shape": shape}
            same_as_upstream = tags == upstream["tags"] and shape == upstream["shape"]
            version = new_version if same_as_upstream else new_version + 1
            write_state(cur, town, kind, osm_id, merged, version=version, base_version=new_version)
            touched[kind].append(osm_id)
    rebuild_touched(town, cur, touched)
    flag_maybe_in_osm(town, cur)
    # Any re-import may change the data: the export cache key moves on once it commits.
    transaction.on_commit(lambda: upstream_conflicts_changed.send(sender=UpstreamConflict, town=town))


def _references(kind: str, shape: Any) -> set[tuple[str, int]]:
    if kind == "way":
        return {("node", int(ref)) for ref in shape or []}
    if kind == "relation":
        return {(m["type"], int(m["ref"])) for m in shape or []}
    return set()


def _dangling(town: Town, kind: str, merged: Any, upstream: Any) -> bool:
    """Whether the merged shape refers to elements the town does not have (mapping.gate's rule).

    Only what the merge kept from our side is checked: what OpenStreetMap's version refers to is
    OSM's (an extract cuts relations at its edge), but a node or member that our change added and
    that is gone here would make the osmChange fail upstream. Such an element waits for an agent.
    """
    added = _references(kind, merged) - _references(kind, upstream)
    return bool(added) and bool(missing_references(town.pk, added))


def _merge_value(base: Any, local: Any, upstream: Any) -> tuple[Any, bool]:
    if local == upstream or upstream == base:
        return local, False
    if local == base:
        return upstream, False
    return local, True


def _open(town, kind, osm_id, conflict_kind, base, local, upstream, version, keys) -> None:
    UpstreamConflict.objects.filter(
        town=town, element_type=kind, element_id=osm_id, status=UpstreamConflict.Status.OPEN
    ).delete()  # superseded by this newer upstream state
    UpstreamConflict.objects.create(
        town=town,
        element_type=kind,
        element_id=osm_id,
        kind=conflict_kind,
        base=base,
        local=local,
        upstream=upstream,
        upstream_version=version,
        keys=keys,
    )


def flag_maybe_in_osm(town: Town, cur) -> int:
    """Flag local creations with an OSM element of the same kind a few metres away (once each)."""
    kind_a, kind_b = FEATURE_KIND_SQL.format(t="a.tags"), FEATURE_KIND_SQL.format(t="b.tags")
    found = 0
    for kind, metres, geom in (
        ("node", NEAR_NODE_METRES, "{}.geom"),
        ("way", NEAR_WAY_METRES, "ST_PointOnSurface({}.geom)"),
    ):
        cur.execute(
            f"""
            SELECT DISTINCT ON (a.osm_id) a.osm_id, b.osm_id, b.version, b.tags
            FROM mapping_{kind} a JOIN mapping_{kind} b
              ON b.town_id = a.town_id AND b.osm_id > 0 AND b.visible
             AND b.geom && ST_Expand(a.geom, 0.001)
             AND ST_DWithin({geom.format("a")}::geography, {geom.format("b")}::geography, %(m)s)
             AND {kind_a} = {kind_b}
            WHERE a.town_id = %(town)s AND a.osm_id < 0 AND a.visible AND a.tags <> '{{}}'::jsonb
              AND NOT EXISTS (SELECT 1 FROM exports_upstreamconflict c WHERE c.town_id = a.town_id
                  AND c.element_type = %(kind)s AND c.element_id = a.osm_id AND c.kind = 'maybe_in_osm')
            ORDER BY a.osm_id, ST_Distance({geom.format("a")}, {geom.format("b")})
            """,
            {"town": town.pk, "m": metres, "kind": kind},
        )
        for local_id, osm_id, version, tags in cur.fetchall():
            UpstreamConflict.objects.create(
                town=town,
                element_type=kind,
                element_id=local_id,
                kind=UpstreamConflict.Kind.MAYBE_IN_OSM,
                upstream={"tags": _load(tags)},
                upstream_version=version,
                upstream_ref=f"{kind}/{osm_id}",
            )
            found += 1
    return found


def open_conflicts_for_town(town: Town) -> QuerySet[UpstreamConflict]:
    return UpstreamConflict.objects.filter(town=town, status=UpstreamConflict.Status.OPEN).order_by("id")


@transaction.atomic
def resolve_conflict(conflict: UpstreamConflict, choice: str, user: User) -> UpstreamConflict:
    """Apply an agent's choice: ``"local"`` keeps ours, ``"upstream"`` takes OpenStreetMap's.

    Preconditions: ``user`` is an agent of the conflict's town (checked here too); locks the
    conflict row so two agents cannot both decide. Keeping ours for an element deleted upstream
    re-creates it as a new local element (new negative id; ways using the node follow).
    """
    conflict = UpstreamConflict.objects.select_for_update().get(pk=conflict.pk)
    if not is_agent_of(user, conflict.town):
        raise MergeError(_("Only an agent of this town can choose."))
    if conflict.status != UpstreamConflict.Status.OPEN:
        raise MergeError(_("Someone already chose for this element."))
    if choice not in ("local", "upstream"):
        raise MergeError(_("Choose ours or OpenStreetMap's."))
    town, kind, osm_id = conflict.town, conflict.element_type, conflict.element_id
    touched: dict[str, list[int]] = {k: [] for k in KINDS}
    held = (UpstreamConflict.Kind.DELETED_UPSTREAM, UpstreamConflict.Kind.MAYBE_IN_OSM)
    if choice == "upstream" and conflict.kind in held and features_using(town.pk, kind, [osm_id]):
        raise MergeError(
            _("Features here still use this element: keep ours, or change those features first.")
        )
    with connection.cursor() as django_cur:
        cur = django_cur.cursor
        v = conflict.upstream_version
        if choice == "upstream":
            if conflict.kind == UpstreamConflict.Kind.MAYBE_IN_OSM:
                write_state(cur, town, kind, osm_id, None, visible=False)  # ours was a duplicate
            elif conflict.kind == UpstreamConflict.Kind.DELETED_UPSTREAM:
                write_state(cur, town, kind, osm_id, None, visible=False, version=v or 1, base_version=v)
            else:
                write_state(
                    cur, town, kind, osm_id, conflict.upstream, visible=True, version=v, base_version=v
                )
            touched[kind].append(osm_id)
        elif conflict.kind == UpstreamConflict.Kind.DELETED_UPSTREAM:
            new_id = next_local_id()
            write_state(cur, town, kind, osm_id, None, osm_id=new_id, version=1, base_version=None)
            if kind == "node":
                renumber_node_in_ways(cur, town, osm_id, new_id)
            touched[kind].append(new_id)
        rebuild_touched(town, cur, touched)
    conflict.status = (
        UpstreamConflict.Status.TOOK_UPSTREAM if choice == "upstream" else UpstreamConflict.Status.KEPT_LOCAL
    )
    conflict.resolved_by, conflict.resolved_at = user, timezone.now()
    conflict.save(update_fields=["status", "resolved_by", "resolved_at"])
    bbox = town.boundary.extent if town.boundary else (-180.0, -90.0, 180.0, 90.0)
    announce_published_change(UpstreamConflict, town, [bbox])
    return conflict

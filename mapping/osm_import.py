"""Import an OSM extract (.osm.pbf, .osm, .osm.bz2) into a town's store.

Streaming: pyosmium hands us one object at a time and each goes straight into a PostgreSQL COPY
into temporary tables, so memory does not grow with the file. The merge into the store, geometry
derivation and town boundary are set-based SQL. The whole import is one transaction: a truncated or
hostile file rolls back and changes nothing.

Re-importing the same file changes nothing (rows are only written when the OSM version differs);
importing a newer extract updates the base: new versions, new elements, and elements gone upstream
marked invisible.

Elements with accepted local changes (``version <> base_version``) that upstream changed or deleted
are NOT overwritten: they are collected in temporary tables ``up_node``/``up_way``/``up_relation``
(osm_id, old_base, new_version, gone, tags, shape) and handed, inside the import's transaction, to
the functions in :data:`UPSTREAM_HANDLERS` (exports registers its three-way merge there; mapping
never imports exports).
"""

from __future__ import annotations

import bz2
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import osmium
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from mapping.derived import (
    GeometryReport,
    rebuild_relation_geometries,
    rebuild_way_geometries,
    way_geometry_ctes,
)
from mapping.models import Node
from parties.models import Town

SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2")
TYPE_NAMES = {"n": "node", "w": "way", "r": "relation"}
# OSM XML never needs a DTD; refusing one is how we refuse entity-expansion and external entities.
HOSTILE_XML_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


# handler(town, psycopg_cursor) called after the merge; see the module docstring.
UPSTREAM_HANDLERS: list[Callable[[Town, object], None]] = []


class ImportError_(Exception):  # noqa: N801 - avoid shadowing the builtin ImportError
    """The file cannot be imported; the message says why. Nothing was changed."""


@dataclass
class ImportSummary:
    town: Town
    read: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    created: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    deleted: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    geometry: GeometryReport = field(default_factory=GeometryReport)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(sum(d.values()) for d in (self.created, self.updated, self.deleted))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImportError_(_("File not found: %(path)s") % {"path": path})
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise ImportError_(
            _("Unsupported file type: %(name)s (expected .osm.pbf, .osm or .osm.bz2)") % {"name": path.name}
        )
    if name.endswith((".osm", ".osm.bz2")):
        opener = bz2.open if name.endswith(".bz2") else open
        try:
            with opener(path, "rb") as fh:
                head = fh.read(1 << 16)
        except (OSError, EOFError) as exc:
            raise ImportError_(
                _("Cannot read %(name)s: %(error)s") % {"name": path.name, "error": exc}
            ) from exc
        if any(marker in head for marker in HOSTILE_XML_MARKERS):
            raise ImportError_(_("Refused: the XML declares a DTD or entities, which OSM files never do."))
        if b"<osm" not in head:
            raise ImportError_(_("Not an OSM XML file: no <osm> root element."))


TEMP_TABLES = """
DROP TABLE IF EXISTS imp_node, imp_way, imp_relation, chg_node, chg_way, chg_relation, bld_way;
CREATE TEMP TABLE imp_node (osm_id bigint, version int, tags jsonb, lon float8, lat float8) ON COMMIT DROP;
CREATE TEMP TABLE imp_way (osm_id bigint, version int, tags jsonb, nodes bigint[]) ON COMMIT DROP;
CREATE TEMP TABLE imp_relation (osm_id bigint, version int, tags jsonb, members jsonb) ON COMMIT DROP;
CREATE TEMP TABLE chg_node (osm_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE chg_way (id bigint) ON COMMIT DROP;
CREATE TEMP TABLE chg_relation (id bigint) ON COMMIT DROP;
"""

# On a first import nodes go straight into the store (no staging copy): they cannot conflict.
DIRECT_NODE_COPY = (
    "COPY mapping_node (town_id, osm_id, version, base_version, tags, geom, visible, updated_at) FROM STDIN"
)

COPY_SQL = {
    "node": "COPY imp_node (osm_id, version, tags, lon, lat) FROM STDIN",
    "way": "COPY imp_way (osm_id, version, tags, nodes) FROM STDIN",
    "relation": "COPY imp_relation (osm_id, version, tags, members) FROM STDIN",
}

# Upserts: a row is written only when its OSM version differs, so a re-import changes nothing.
MERGE_SQL = {
    "node": """
        WITH up AS (
          INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, geom, visible, updated_at)
          SELECT %(town)s, osm_id, version, version, tags,
                 ST_SetSRID(ST_MakePoint(lon, lat), 4326), true, now()
          FROM imp_node
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            geom = EXCLUDED.geom, visible = true, updated_at = now()
          WHERE mapping_node.base_version IS DISTINCT FROM EXCLUDED.base_version
          RETURNING osm_id, (xmax = 0) AS inserted
        ), keep AS (INSERT INTO chg_node SELECT osm_id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """,
    # Ways get their derived geometry while they are inserted (see mapping.derived), from the
    # nodes merged just before: no second pass rewriting every row.
    "way": """
        WITH src AS (
          SELECT i.osm_id AS key, %(town)s::bigint AS town_id, i.tags, i.nodes, i.version
          FROM imp_way i
          WHERE NOT EXISTS (SELECT 1 FROM mapping_way m
                            WHERE m.town_id = %(town)s AND m.osm_id = i.osm_id AND m.base_version = i.version)
        ),"""
    + way_geometry_ctes("src")
    + """,
        up AS (
          INSERT INTO mapping_way (town_id, osm_id, version, base_version, tags, nodes, visible, updated_at,
                                   geom, geom_status)
          SELECT %(town)s, s.key, s.version, s.version, s.tags, s.nodes, true, now(), l.geom, l.geom_status
          FROM src s JOIN labelled l ON l.key = s.key
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            nodes = EXCLUDED.nodes, visible = true, updated_at = now(),
            geom = EXCLUDED.geom, geom_status = EXCLUDED.geom_status
          RETURNING id, (xmax = 0) AS inserted, geom_status
        ), keep AS (INSERT INTO chg_way SELECT id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               count(*) FILTER (WHERE geom_status = 'ok'), count(*) FILTER (WHERE geom_status = 'repaired'),
               count(*) FILTER (WHERE geom_status = 'incomplete'), count(*) FILTER (WHERE geom_status = 'invalid')
        FROM up
    """,
    "relation": """
        WITH up AS (
          INSERT INTO mapping_relation (town_id, osm_id, version, base_version, tags, members, visible, updated_at, geom_status)
          SELECT %(town)s, osm_id, version, version, tags, members, true, now(), 'none' FROM imp_relation
          ON CONFLICT (town_id, osm_id) DO UPDATE SET
            version = EXCLUDED.version, base_version = EXCLUDED.base_version, tags = EXCLUDED.tags,
            members = EXCLUDED.members, visible = true, updated_at = now()
          WHERE mapping_relation.base_version IS DISTINCT FROM EXCLUDED.base_version
          RETURNING id, (xmax = 0) AS inserted
        ), keep AS (INSERT INTO chg_relation SELECT id FROM up)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
    """,
}

# Locally changed elements that upstream changed or deleted: set aside for the handlers, and
# removed from imp_* so the merge does not overwrite them.
SHAPE = {"node": "jsonb_build_array(i.lon, i.lat)", "way": "to_jsonb(i.nodes)", "relation": "i.members"}
UPSTREAM_SQL = {
    t: f"""
        DROP TABLE IF EXISTS up_{t};
        CREATE TEMP TABLE up_{t} ON COMMIT DROP AS
        SELECT e.osm_id, e.base_version AS old_base, i.version AS new_version, i.osm_id IS NULL AS gone,
               i.tags, {SHAPE[t]} AS shape
        FROM mapping_{t} e LEFT JOIN imp_{t} i ON i.osm_id = e.osm_id
        WHERE e.town_id = %(town)s AND e.osm_id > 0 AND e.base_version IS NOT NULL
          AND e.version <> e.base_version
          AND (i.osm_id IS NULL OR i.version <> e.base_version);
        DELETE FROM imp_{t} i USING up_{t} u WHERE i.osm_id = u.osm_id;
    """
    for t in ("node", "way", "relation")
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


def _stream(
    path: Path,
    cur,
    summary: ImportSummary,
    progress: Callable[[dict[str, int]], None] | None,
    direct_town: int | None = None,
) -> None:
    """COPY every object into the staging tables (nodes straight into the store if ``direct_town``)."""
    now = timezone.now()
    current: str | None = None
    copy_cm = None
    copy = None
    read = summary.read
    try:
        for obj in osmium.FileProcessor(str(path)):
            kind = TYPE_NAMES[obj.type_str()]
            if kind != current:
                if copy_cm is not None:
                    copy_cm.__exit__(None, None, None)
                copy_cm = cur.copy(DIRECT_NODE_COPY if kind == "node" and direct_town else COPY_SQL[kind])
                copy = copy_cm.__enter__()
                current = kind
            tags = json.dumps(dict(obj.tags), ensure_ascii=False) if len(obj.tags) else "{}"
            if kind == "node":
                loc = obj.location
                if not loc.valid():
                    continue
                if direct_town:
                    point = f"SRID=4326;POINT({loc.lon:.7f} {loc.lat:.7f})"
                    copy.write_row((direct_town, obj.id, obj.version, obj.version, tags, point, True, now))
                else:
                    copy.write_row((obj.id, obj.version, tags, loc.lon, loc.lat))
            elif kind == "way":
                copy.write_row((obj.id, obj.version, tags, [n.ref for n in obj.nodes]))
            else:
                members = [{"type": TYPE_NAMES[m.type], "ref": m.ref, "role": m.role} for m in obj.members]
                copy.write_row((obj.id, obj.version, tags, json.dumps(members, ensure_ascii=False)))
            read[kind] += 1
            if progress and (read["node"] + read["way"] + read["relation"]) % 20000 == 0:
                progress(read)
    except RuntimeError as exc:
        raise ImportError_(
            _("The file is truncated or not a valid OSM file: %(error)s") % {"error": exc}
        ) from exc
    finally:
        if copy_cm is not None:
            copy_cm.__exit__(None, None, None)


def import_osm(
    path: str | Path,
    town_slug: str,
    town_name: str | None = None,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> ImportSummary:
    """Import ``path`` into the town ``town_slug`` (created if needed), atomically.

    Raises :class:`ImportError_` with a user-facing message; the database is then unchanged.
    """
    path = Path(path)
    _check_file(path)
    started = time.monotonic()
    with transaction.atomic():
        town, created = Town.objects.get_or_create(
            slug=slugify(town_slug) or town_slug, defaults={"name": town_name or town_slug.title()}
        )
        if town_name and town.name != town_name and not created:
            town.name = town_name
            town.save(update_fields=["name"])
        summary = ImportSummary(town=town)
        with connection.cursor() as django_cur:
            cur = django_cur.cursor  # the psycopg cursor, for COPY
            cur.execute(TEMP_TABLES)
            first_import = not Node.objects.filter(town=town).exists()
            _stream(path, cur, summary, progress, direct_town=town.pk if first_import else None)
            if not any(summary.read.values()):
                raise ImportError_(_("The file contains no OSM data."))
            for kind in ("node", "way", "relation"):
                cur.execute(f"CREATE INDEX ON imp_{kind} (osm_id)")
                cur.execute(f"ANALYZE imp_{kind}")
                cur.execute(UPSTREAM_SQL[kind], {"town": town.pk})
                if kind == "node" and first_import:  # already copied into the store
                    summary.created[kind] = summary.read[kind]
                    cur.execute("ANALYZE mapping_node")  # the way merge joins to these nodes
                    continue
                cur.execute(MERGE_SQL[kind], {"town": town.pk})
                row = cur.fetchone()
                summary.created[kind], summary.updated[kind] = row[:2]
                if kind == "way":
                    summary.geometry.add(
                        [
                            (status,)
                            for status, n in zip(
                                ("ok", "repaired", "incomplete", "invalid"), row[2:], strict=True
                            )
                            for _ in range(n)
                        ]
                    )
                if not first_import:  # nothing can have vanished from an empty town
                    cur.execute(DELETE_SQL[kind], {"town": town.pk})
                    summary.deleted[kind] = cur.fetchone()[0]
            if not first_import:
                for handler in UPSTREAM_HANDLERS:
                    handler(town, cur)
            if summary.changed:
                # Fresh statistics, or the planner picks nested loops over a bulk load.
                cur.execute("ANALYZE chg_node; ANALYZE chg_way; ANALYZE chg_relation")
                cur.execute("ANALYZE mapping_node; ANALYZE mapping_way; ANALYZE mapping_relation")
                # Ways using a node that changed, if the way itself did not (those got their
                # geometry in the merge); none on a first import, where every way is new.
                cur.execute(
                    """
                    SELECT DISTINCT w.id FROM mapping_way w
                    CROSS JOIN LATERAL unnest(w.nodes) AS r(ref)
                    JOIN chg_node c ON c.osm_id = r.ref
                    WHERE w.town_id = %(town)s AND NOT %(first)s
                      AND NOT EXISTS (SELECT 1 FROM chg_way cw WHERE cw.id = w.id)
                    """,
                    {"town": town.pk, "first": first_import},
                )
                way_pks = [r[0] for r in cur.fetchall()]
                rebuild_way_geometries(way_pks, summary.geometry)
                cur.execute("CREATE TEMP TABLE bld_way (id bigint) ON COMMIT DROP")
                cur.execute(
                    "INSERT INTO bld_way SELECT unnest(%s::bigint[]) UNION SELECT id FROM chg_way", [way_pks]
                )
                cur.execute(
                    """
                    SELECT id FROM chg_relation
                    UNION
                    SELECT r.id FROM mapping_relation r
                    CROSS JOIN LATERAL jsonb_array_elements(r.members) AS m
                    JOIN mapping_way w ON w.town_id = r.town_id AND w.osm_id = (m->>'ref')::bigint
                    JOIN bld_way b ON b.id = w.id
                    WHERE r.town_id = %(town)s AND m->>'type' = 'way' AND NOT %(first)s
                    """,
                    {"town": town.pk, "first": first_import},
                )
                rebuild_relation_geometries([r[0] for r in cur.fetchall()], summary.geometry)
                cur.execute(
                    """
                    UPDATE parties_town SET boundary = (
                      SELECT ST_Multi(ST_Envelope(ST_Extent(geom)::geometry))
                      FROM mapping_node WHERE town_id = %(town)s AND visible)
                    WHERE id = %(town)s
                    """,
                    {"town": town.pk},
                )
            # ON COMMIT DROP is not enough when we run inside an outer transaction (a savepoint).
            cur.execute(
                "DROP TABLE IF EXISTS imp_node, imp_way, imp_relation, chg_node, chg_way, chg_relation, bld_way, "
                "up_node, up_way, up_relation"
            )
    summary.seconds = time.monotonic() - started
    return summary

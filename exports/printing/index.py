"""What a print reads besides the map: street and POI indexes, legend classes, changes, contributors.

Everything is computed in PostGIS, inside the print's transaction (same snapshot as the map):

- street index: every named road or pedestrian street (:data:`style.STREET_HIGHWAYS`) meeting the
  map, with the grid squares its geometry really intersects (``ST_Intersects`` with each cell).
  Segments of one name are grouped with ``ST_ClusterDBSCAN`` (``CLUSTER_M`` on the ground): a street
  cut in pieces is one entry, two distant streets of the same name are two entries.
- POI index: named points of interest by category, with the square holding them.
- Sorting is locale-aware: ICU collation for the print's language (PyICU).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _

from core.geo import SRID
from exports.printing import style
from exports.printing.sheet import Grid, lonlat
from parties import presets
from parties.models import public_name

CLUSTER_M = 300


@dataclass
class Entry:
    name: str
    squares: list[str]
    kind: str = ""
    order: tuple[int, int] = (0, 0)  # first square (column, row): tie-break between equal names


@dataclass
class Legend:
    landuse: list[str] = field(default_factory=list)
    water: bool = False
    buildings: bool = False
    waterways: list[str] = field(default_factory=list)
    roads: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    railways: list[str] = field(default_factory=list)
    pois: list[str] = field(default_factory=list)


def collator(lang: str):
    import icu  # PyICU takes 80 ms to load: only print jobs need it, not every process

    return icu.Collator.createInstance(icu.Locale("fr_FR" if lang == "fr" else "en_GB"))


def sort_entries(entries: list[Entry], lang: str) -> list[Entry]:
    coll = collator(lang)
    return sorted(entries, key=lambda e: (coll.getSortKey(e.name), e.order))


def _envelope(grid: Grid) -> str:
    x0, y0, x1, y1 = grid.extent
    return f"ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, 3857)"


def _cells_sql(grid: Grid) -> str:
    x0, y0, x1, y1 = grid.extent
    c = grid.cell
    return (
        f"SELECT i, j, ST_MakeEnvelope({x0!r} + i * {c!r}, GREATEST({y1!r} - (j + 1) * {c!r}, {y0!r}), "
        f"LEAST({x0!r} + (i + 1) * {c!r}, {x1!r}), {y1!r} - j * {c!r}, 3857) AS cell "
        f"FROM generate_series(0, {grid.columns - 1}) i, generate_series(0, {grid.rows - 1}) j"
    )


def _ground(grid: Grid) -> float:
    x0, y0, x1, y1 = grid.extent
    return math.cos(math.radians(lonlat((x0 + x1) / 2, (y0 + y1) / 2)[1]))


def street_index(town_id: int, grid: Grid, lang: str) -> list[Entry]:
    """Named streets on the map with the squares they cross, one entry per separate street."""
    env = _envelope(grid)
    name = style.name_sql(lang)
    highways = "(" + ",".join(f"'{v}'" for v in style.STREET_HIGHWAYS) + ")"
    eps = CLUSTER_M / _ground(grid)
    sql = f"""
        WITH s AS (
            SELECT {name} AS name, ST_Intersection(ST_Transform(geom, 3857), {env}) AS g
            FROM mapping_way
            WHERE town_id = %s AND visible AND ST_Dimension(geom) = 1
              AND tags->>'highway' IN {highways}
              AND geom && ST_Transform({env}, {SRID})
              AND COALESCE({name}, '') <> ''
              AND ST_Intersects(ST_Transform(geom, 3857), {env})
        ), c AS (
            SELECT name, g, ST_ClusterDBSCAN(g, eps := %s, minpoints := 1) OVER (PARTITION BY name) AS cid
            FROM s
        ), cells AS ({_cells_sql(grid)})
        SELECT c.name, c.cid, array_agg(DISTINCT ARRAY[cells.i, cells.j])
        FROM c JOIN cells ON ST_Intersects(c.g, cells.cell)
        GROUP BY c.name, c.cid
    """
    with connection.cursor() as cur:
        cur.execute(sql, [town_id, eps])
        rows = cur.fetchall()
    entries = []
    for name, _cid, cells in rows:
        cells = sorted({(int(i), int(j)) for i, j in cells})
        entries.append(Entry(name=name, squares=[grid.label(i, j) for i, j in cells], order=cells[0]))
    return sort_entries(entries, lang)


def poi_index(town_id: int, grid: Grid, lang: str) -> dict[str, list[Entry]]:
    """Named points of interest on the map by category (categories in :data:`style.POI_CATEGORIES` order)."""
    env = _envelope(grid)
    name = style.name_sql(lang)
    sql = f"""
        WITH p AS (
            SELECT {name} AS name, {style.poi_case()} AS kind, ST_Transform(geom, 3857) AS g
            FROM mapping_node
            WHERE town_id = %s AND visible AND tags <> '{{}}'::jsonb AND geom && ST_Transform({env}, {SRID})
            UNION ALL
            SELECT {name}, {style.poi_case()}, ST_Transform(ST_PointOnSurface(geom), 3857)
            FROM mapping_way
            WHERE town_id = %s AND visible AND ST_Dimension(geom) = 2 AND geom && ST_Transform({env}, {SRID})
        )
        SELECT name, kind, ST_X(g), ST_Y(g) FROM p
        WHERE kind IS NOT NULL AND COALESCE(name, '') <> '' AND ST_Intersects(g, {env})
    """
    with connection.cursor() as cur:
        cur.execute(sql, [town_id, town_id])
        rows = cur.fetchall()
    with translation.override(lang):
        labels = {p.kind: str(p.label) for p in style.POIS}  # in the print's language
    categories = {p.kind: p.category for p in style.POIS}
    seen: set[tuple[str, str, str]] = set()
    by_category: dict[str, list[Entry]] = {}
    for name, kind, x, y in rows:
        i, j = grid.cell_of(x, y)
        key = (name, kind, grid.label(i, j))
        if key in seen:  # a shop mapped as a point inside its mapped building
            continue
        seen.add(key)
        by_category.setdefault(categories[kind], []).append(
            Entry(name=name, squares=[grid.label(i, j)], kind=labels[kind], order=(i, j))
        )
    return {cat: sort_entries(by_category[cat], lang) for cat in style.POI_CATEGORIES if cat in by_category}


def count_index_entries(town_id: int, bbox: tuple[float, float, float, float]) -> int:
    """A quick upper bound of index lines for a lon/lat bbox (used to refuse prints before queueing)."""
    west, south, east, north = (float(v) for v in bbox)
    highways = "(" + ",".join(f"'{v}'" for v in style.STREET_HIGHWAYS) + ")"
    keys = "array[" + ",".join(sorted({f"'{p.key}'" for p in style.POIS})) + "]"
    env = f"ST_MakeEnvelope(%s, %s, %s, %s, {SRID})"
    sql = f"""
        SELECT (SELECT count(DISTINCT tags->>'name') FROM mapping_way
                WHERE town_id = %s AND visible AND tags ? 'name' AND tags->>'highway' IN {highways}
                  AND geom && {env})
             + (SELECT count(*) FROM mapping_node
                WHERE town_id = %s AND visible AND tags ? 'name' AND tags ?| {keys} AND geom && {env})
    """
    with connection.cursor() as cur:
        cur.execute(sql, [town_id, west, south, east, north, town_id, west, south, east, north])
        return int(cur.fetchone()[0])


def legend_for(kinds: dict[str, list[str]], counts: dict[str, int], scale_denominator: float) -> Legend:
    """The legend of what this map really shows (feature kinds present and drawn at this scale)."""

    def present(layer: str, classes) -> list[str]:
        found = set(kinds.get(layer, []))
        return [c.kind for c in classes if c.kind in found]

    return Legend(
        landuse=present("landuse", style.LANDUSE),
        water=counts.get("water", 0) > 0,
        buildings=counts.get("buildings", 0) > 0 and scale_denominator < style.LOW * 2,
        waterways=present("waterways", style.WATERWAYS),
        roads=present("roads", style.ROADS),
        paths=present("paths", style.PATHS) if scale_denominator < style.LOW else [],
        railways=present("railways", style.RAILWAYS),
        pois=present("pois", style.POIS) if scale_denominator < style.POI_MAX_SCALE else [],
    )


def changes_between(town_id: int, since, until, grid: Grid, limit: int = 300) -> dict:
    """Accepted revisions on this map between two dates: counts by action and a list (newest first)."""
    env = _envelope(grid)
    where = (
        "r.town_id = %s AND r.status = 'accepted' AND r.reviewed_at <= %s"
        + (" AND r.reviewed_at > %s" if since else "")
        + f" AND (ST_Intersects(ST_Transform(COALESCE(r.geom_after, r.geom_before), 3857), {env}))"
    )
    params = [town_id, until] + ([since] if since else [])
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT r.action, count(*) FROM mapping_revision r WHERE {where} GROUP BY r.action", params
        )
        counts = {action: n for action, n in cur.fetchall()}
        cur.execute(
            f"""SELECT r.action, r.element_type, r.element_id,
                       COALESCE(r.after->'tags'->>'name', r.before->'tags'->>'name', ''),
                       COALESCE(r.after->'tags', r.before->'tags', '{{}}'::jsonb),
                       u.nickname, u.role, r.reviewed_at
                FROM mapping_revision r JOIN parties_user u ON u.id = r.author_id
                WHERE {where} ORDER BY r.reviewed_at DESC LIMIT {int(limit)}""",
            params,
        )
        items = [
            {
                "action": a,
                "type": t,
                "id": i,
                "name": n,
                "preset": presets.match_preset(tags if isinstance(tags, dict) else json.loads(tags)),
                "author": public_name(nick, role),
                "date": d.isoformat(),
            }
            for a, t, i, n, tags, nick, role, d in cur.fetchall()
        ]
    return {
        "since": since.isoformat() if since else None,
        "created": counts.get("create", 0),
        "modified": counts.get("modify", 0),
        "deleted": counts.get("delete", 0),
        "items": items,
    }


def contributors(town_id: int, until) -> list[str]:
    """Display names of the authors of the town's accepted revisions up to ``until`` (sorted)."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT u.nickname, u.role
               FROM mapping_revision r JOIN parties_user u ON u.id = r.author_id
               WHERE r.town_id = %s AND r.status = 'accepted' AND r.reviewed_at <= %s""",
            [town_id, until],
        )
        names = {public_name(nickname, role) for nickname, role in cur.fetchall()}
    coll = collator("en")
    return sorted(names, key=coll.getSortKey)


def change_label(item: dict) -> str:
    """What happened to a feature, in the print's language ("Ajouté", "Modifié", "Supprimé")."""
    labels = {"create": _("Added"), "modify": _("Changed"), "delete": _("Removed")}
    action = str(item.get("action", ""))
    return str(labels.get(action, action))


def feature_label(item: dict) -> str:
    """The feature as a reader knows it: its name, else its kind ("Banc"), never "node 5258"."""
    return (
        item.get("name")
        or presets.preset_name(item.get("preset", ""))
        or presets.element_kind_name(item.get("type", ""))
    )

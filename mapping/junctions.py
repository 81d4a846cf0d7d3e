"""Connected geometry for the mapping page and the review: the ways to snap to, and iD's warnings.

* :func:`ways_near`: the lines (and outlines) of a party around a place, each with its node ids and
  version, so that the page snaps a vertex to an existing node (reusing its id) or onto a segment
  (a :class:`~mapping.payloads.Join`) while drawing, without asking the server at each tap.
* :func:`check_payload`: the warnings of :mod:`mapping.connectivity` for a payload, against the ways
  as published now (the page asks before saving; the review page shows them to the agent).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.utils.translation import gettext as _

from core.geo import SRID
from mapping import gate
from mapping.connectivity import Near, way_warnings
from mapping.payloads import ElementType, Payload
from mapping.selectors import BadRequest, BBox
from mapping.services import EditRejected
from mapping.store import payload_geometry

MAX_WAYS = 3000
MAX_SPAN = 0.02  # degrees (about 2 km): snapping data for more than a street view is not needed
MARGIN = 0.0007  # degrees (about 60 m) around a checked line: where its junctions may be

NEAR_SQL = """
SELECT w.osm_id, w.version, w.tags,
       array_agg(n.osm_id ORDER BY u.o), array_agg(ST_X(n.geom) ORDER BY u.o), array_agg(ST_Y(n.geom) ORDER BY u.o)
FROM mapping_way w
CROSS JOIN LATERAL unnest(w.nodes) WITH ORDINALITY AS u(ref, o)
JOIN mapping_node n ON n.town_id = w.town_id AND n.osm_id = u.ref AND n.visible
WHERE w.town_id = %(town)s AND w.visible
  AND w.geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, %(srid)s)
  AND NOT (w.tags ? 'boundary') AND NOT (w.tags ? 'landuse')
GROUP BY w.id
ORDER BY w.id
LIMIT %(limit)s
"""


def _near(town_id: int, west: float, south: float, east: float, north: float) -> list[Near]:
    with connection.cursor() as cur:
        params = {
            "town": town_id,
            "w": west,
            "s": south,
            "e": east,
            "n": north,
            "limit": MAX_WAYS,
            "srid": SRID,
        }
        cur.execute(NEAR_SQL, params)
        rows = cur.fetchall()
    return [
        Near(
            osm_id,
            version,
            json.loads(tags) if isinstance(tags, str) else dict(tags),
            [(r, x, y) for r, x, y in zip(refs, xs, ys, strict=True)],
        )
        for osm_id, version, tags, refs, xs, ys in rows
    ]


def ways_near(town_id: int, bbox: BBox) -> list[dict[str, Any]]:
    """The visible ways of the town crossing ``bbox`` (at most about 2 km wide; 400 otherwise), as
    ``{id, version, tags, nodes: [[id, lon, lat], ...]}`` (a closed way repeats its first node)."""
    if bbox.east - bbox.west > MAX_SPAN or bbox.north - bbox.south > MAX_SPAN:
        raise BadRequest(_("Zoom in to draw: the area is too large."))
    return [
        {"id": w.id, "version": w.version, "tags": w.tags, "nodes": [list(n) for n in w.nodes]}
        for w in _near(town_id, bbox.west, bbox.south, bbox.east, bbox.north)
    ]


def warnings_for(town_id: int, element_type: str, payload: Payload | None, self_id: int | None) -> list[dict]:
    """iD's connectivity warnings for a (normalised) payload, against the ways published now."""
    if element_type != ElementType.WAY or not payload:
        return []
    shape: GEOSGeometry | None = payload_geometry(element_type, payload)
    if shape is None:
        return []
    west, south, east, north = shape.extent
    near = _near(town_id, west - MARGIN, south - MARGIN, east + MARGIN, north + MARGIN)
    return way_warnings(payload, near, self_id)


def check_payload(town_id: int, element_type: str, after: Any, element_id: int | None) -> list[dict]:
    """The warnings for a payload a resident is about to save (:class:`mapping.gate.Refused` if it is
    not a valid payload: :class:`~mapping.services.EditRejected`, shown as on saving)."""
    if element_type not in (ElementType.NODE, ElementType.WAY, ElementType.RELATION):
        raise BadRequest(_("Unknown element type."))
    try:
        payload = gate.normalise(element_type, after)
    except gate.Refused as exc:
        raise EditRejected(exc.issues) from exc
    return warnings_for(town_id, element_type, payload, element_id)

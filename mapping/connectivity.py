"""Connected geometry, as iD checks it: pure warnings about a drawn line and the lines around it.

Before saving, the resident sees these warnings, each with a one-tap fix (the agent sees the same in
the review, :func:`review.selectors`); nothing here refuses a change (that is :mod:`mapping.gate`'s).

* ``disconnected``: a highway that connects to no other highway (fix: connect its nearer end to the
  nearest highway within :data:`CONNECT_MAX` metres);
* ``crossing``: it crosses another highway without a shared point (fix: a junction node there);
* ``almost_junction``: an end stops within :data:`ALMOST` metres of another highway (fix: extend
  it to that highway).

A fix is the whole corrected payload (new vertices and :class:`~mapping.payloads.Join` entries into
the other ways), so the page only swaps its draft for it and checks again. Distances use an
equirectangular projection around the point (exact enough over a few hundred metres).
No ORM: the caller passes the nearby ways (:class:`Near`), as the store holds them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from mapping.payloads import Join, Payload

EARTH = 6_371_008.8
ALMOST = 5.0  # metres: an end closer than this to another highway is an almost-junction
CONNECT_MAX = 50.0  # metres: how far "connect to the nearest" looks
ON_SEGMENT = 0.5  # metres: how far from a segment a junction vertex may lie (the gate's tolerance)
Coord = tuple[float, float]


@dataclass(frozen=True)
class Near:
    """A way near the drawn one: its node list as stored (a closed way repeats its first node)."""

    id: int
    version: int
    tags: dict[str, str]
    nodes: list[tuple[int, float, float]]


def metres(a: Coord, b: Coord) -> float:
    """Distance in metres between two (lon, lat) positions."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(lat)
    dy = math.radians(b[1] - a[1])
    return EARTH * math.hypot(dx, dy)


def project(p: Coord, a: Coord, b: Coord) -> tuple[Coord, float]:
    """The point of segment a-b nearest to p (rounded to 7 decimals, as OSM stores it), and its
    distance from p in metres."""
    k = math.cos(math.radians(p[1]))
    ax, ay, bx, by, px, py = a[0] * k, a[1], b[0] * k, b[1], p[0] * k, p[1]
    length = (bx - ax) ** 2 + (by - ay) ** 2
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length))
    q = (round(a[0] + t * (b[0] - a[0]), 7), round(a[1] + t * (b[1] - a[1]), 7))
    return q, metres(p, q)


def crossing(a: Coord, b: Coord, c: Coord, d: Coord) -> Coord | None:
    """Where segments a-b and c-d cross strictly inside both (not at an end), or None."""
    r = (b[0] - a[0], b[1] - a[1])
    s = (d[0] - c[0], d[1] - c[1])
    den = r[0] * s[1] - r[1] * s[0]
    if den == 0:
        return None
    t = ((c[0] - a[0]) * s[1] - (c[1] - a[1]) * s[0]) / den
    u = ((c[0] - a[0]) * r[1] - (c[1] - a[1]) * r[0]) / den
    eps = 1e-9
    if not (eps < t < 1 - eps and eps < u < 1 - eps):
        return None
    return (round(a[0] + t * r[0], 7), round(a[1] + t * r[1], 7))


def on_segment(p: Coord, a: Coord, b: Coord, tolerance: float = ON_SEGMENT) -> bool:
    """Whether p lies on segment a-b, within ``tolerance`` metres."""
    return project(p, a, b)[1] <= tolerance


def is_road(tags: dict[str, str]) -> bool:
    """A line of the road and path network (iD's "highway" checks)."""
    return bool(tags.get("highway")) and tags.get("area") != "yes" and tags["highway"] not in NOT_ROADS


NOT_ROADS = {
    "platform",
    "bus_stop",
    "elevator",
    "rest_area",
    "services",
    "corridor",
    "proposed",
    "construction",
}


def _level(tags: dict[str, str]) -> tuple[str, bool]:
    return tags.get("layer", "0"), bool(tags.get("bridge") or tags.get("tunnel"))


def _warning(
    code: str, message: str, way: int | None, label: str = "", fix: Payload | None = None
) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "way": way,
        "fix": {"label": label, "after": fix} if fix else None,
    }


def _insert(payload: Payload, index: int, coord: Coord, join: Join) -> Payload:
    """A copy of ``payload`` with a new vertex at ``index`` joined to another way; later joins shift."""
    fixed = copy.deepcopy(payload)
    fixed["nodes"].insert(index, [None, coord[0], coord[1]])
    joins: list[Join] = [
        {**j, "vertex": j["vertex"] + 1} if j.get("vertex", 0) >= index else j for j in fixed.get("joins", [])
    ]
    fixed["joins"] = [*_unbound(joins), {**join, "vertex": index}]
    return fixed


def _unbound(joins: Sequence[Join]) -> list[Join]:
    """Joins as a client sends them (the server fills ``before`` in again)."""
    return [{k: v for k, v in j.items() if k != "before"} for j in joins]  # type: ignore[misc]  # Join keys


def _nearest(p: Coord, roads: Sequence[Near]) -> tuple[float, Near, int, Coord] | None:
    best: tuple[float, Near, int, Coord] | None = None
    for way in roads:
        for i in range(len(way.nodes) - 1):
            q, dist = project(p, way.nodes[i][1:], way.nodes[i + 1][1:])
            if best is None or dist < best[0]:
                best = (dist, way, i, q)
    return best


def way_warnings(
    payload: Payload, nearby: Sequence[Near], self_id: int | None = None
) -> list[dict[str, Any]]:
    """The warnings about a line ``payload`` (a way payload) among the ``nearby`` ways, with fixes."""
    tags = payload.get("tags") or {}
    nodes = payload.get("nodes") or []
    if not isinstance(tags, dict) or not is_road(tags) or payload.get("closed") or len(nodes) < 2:
        return []
    roads = [w for w in nearby if w.id != self_id and is_road(w.tags) and len(w.nodes) >= 2]
    joined = {j.get("way") for j in payload.get("joins", [])}
    refs = {n[0] for n in nodes if n[0] is not None}
    connected = bool(joined & {w.id for w in roads}) or any(refs & {n[0] for n in w.nodes} for w in roads)
    warnings: list[dict[str, Any]] = []
    coords = [(float(n[1]), float(n[2])) for n in nodes]
    for way in roads:
        if _level(way.tags) != _level(tags) or way.id in joined:
            continue
        shared = refs & {n[0] for n in way.nodes}
        for i in range(len(coords) - 1):
            for j in range(len(way.nodes) - 1):
                if shared & {way.nodes[j][0], way.nodes[j + 1][0]}:
                    continue
                point = crossing(coords[i], coords[i + 1], way.nodes[j][1:], way.nodes[j + 1][1:])
                if point is None:
                    continue
                fix = _insert(
                    payload, i + 1, point, {"way": way.id, "base_version": way.version, "segment": j}
                )
                warnings.append(
                    _warning(
                        "crossing",
                        _("This line crosses another road or path without a junction."),
                        way.id,
                        _("Add a junction"),
                        fix,
                    )
                )
                return warnings  # one at a time: the fix changes the indexes
    if connected:
        return warnings
    ends = [(0, coords[0]), (len(coords), coords[-1])]
    found = [(hit, index) for index, end in ends if (hit := _nearest(end, roads)) is not None]
    found.sort(key=lambda f: f[0][0])
    if found and found[0][0][0] <= CONNECT_MAX:
        (dist, way, segment, point), index = found[0]
        join: Join = {"way": way.id, "base_version": way.version, "segment": segment}
        end = 0 if index == 0 else len(coords) - 1
        if dist <= ON_SEGMENT and nodes[end][0] is None:  # already there: join the end itself
            fix = copy.deepcopy(payload)
            fix["nodes"][end] = [None, point[0], point[1]]
            fix["joins"] = [*_unbound(fix.get("joins", [])), {**join, "vertex": end}]
        else:
            fix = _insert(payload, index, point, join)
        if dist <= ALMOST:
            return [
                _warning(
                    "almost_junction",
                    _("This line ends a few metres short of another road or path."),
                    way.id,
                    _("Extend it to the road"),
                    fix,
                )
            ]
        return [
            _warning(
                "disconnected",
                _("This road or path is not connected to any other."),
                way.id,
                _("Connect it to the nearest road"),
                fix,
            )
        ]
    return [_warning("disconnected", _("This road or path is not connected to any other."), None)]

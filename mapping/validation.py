"""Pure validation of proposed changes (no ORM): tags and geometry, as OpenStreetMap accepts them.

Each validator returns a list of :class:`Issue`; an empty list means valid. Only the callers
(services, serializers) turn issues into errors. The rules follow OSM's API: a key or value is at most
255 characters; keys are not empty and not repeated. Cartoparty adds what a phone page needs to be
told clearly: no control characters, a sane number of tags, coordinates in range, ways of 2 to 2,000
nodes (OSM's own limit), areas closed with at least three distinct vertices and no self-intersection.

Text is normalised to NFC (keys and values), so the same word typed on two keyboards is one tag and
duplicate keys are found after normalisation. Invisible format characters (Unicode category Cf: zero-width
space, bidi marks, BOM...) are refused in keys, where they would make two keys that look alike, and
stripped from values, except the zero-width joiners some scripts and emoji need.

Script-like content (``<script>``, ``javascript:``) in a value is *not* refused: OSM accepts it and it
is only ever stored and shown as text, never executed or rendered as HTML.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import LinearRing, LineString, Polygon

MAX_LENGTH = 255  # OSM's limit for keys and values, in characters
MAX_TAGS = 100
MIN_WAY_NODES = 2
MAX_WAY_NODES = 2000  # OSM's API limit (waynodes maximum)
# C0 and C1 control characters and DEL; tabs and newlines are control characters too in OSM tags.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Issue:
    """One reason a change is refused: ``field`` names where the page shows it."""

    field: str
    code: str
    message: str


# Format characters (Unicode category Cf) kept in values: the joiners that Persian, Indic scripts and
# emoji sequences need. Every other one (zero-width space, bidi marks and embeddings, BOM, soft hyphen)
# is invisible, makes look-alike values differ, and is stripped from values; in keys it is refused.
KEPT_FORMAT_CHARS = frozenset("\u200c\u200d")


def invisible_chars(text: str) -> list[str]:
    """The format characters (category Cf) in ``text``, as ``U+XXXX`` codes, in order of appearance."""
    return [f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) == "Cf"]


def normalise_text(text: Any) -> Any:
    """NFC (as OSM editors write text), so "café" typed on two keyboards is one value; non-text as is."""
    return unicodedata.normalize("NFC", text) if isinstance(text, str) else text


def normalise_value(value: Any) -> Any:
    """A tag value in NFC, without invisible format characters (see ``KEPT_FORMAT_CHARS``)."""
    if not isinstance(value, str):
        return value
    value = "".join(ch for ch in value if ch in KEPT_FORMAT_CHARS or unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", value)


def _normalise_tags(tags: Any) -> tuple[list[tuple[Any, Any]], list[Issue]]:
    """Tags as NFC (key, value) pairs: a dict, or a list of [key, value] pairs (which can repeat a key)."""
    if isinstance(tags, Mapping):
        items = list(tags.items())
    elif isinstance(tags, list | tuple):
        items = []
        for item in tags:
            if not isinstance(item, list | tuple) or len(item) != 2:
                return [], [Issue("tags", "format", _("Tags must be key and value pairs."))]
            items.append((item[0], item[1]))
    else:
        return [], [Issue("tags", "format", _("Tags must be key and value pairs."))]
    return [(normalise_text(k), normalise_value(v)) for k, v in items], []


def validate_tags(tags: Any) -> list[Issue]:
    """Check a tag set (dict, or list of [key, value] pairs as the page sends them)."""
    pairs, issues = _normalise_tags(tags)
    if issues:
        return issues
    if len(pairs) > MAX_TAGS:
        issues.append(Issue("tags", "too_many", _("At most %(max)s tags per feature.") % {"max": MAX_TAGS}))
    seen: set[str] = set()
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            issues.append(Issue("tags", "format", _("Tag keys and values must be text.")))
            continue
        field = f"tags.{key}" if key else "tags"
        if not key.strip():
            issues.append(Issue(field, "empty_key", _("A tag key cannot be empty.")))
        elif key in seen:
            issues.append(Issue(field, "duplicate_key", _("The key “%(key)s” is used twice.") % {"key": key}))
        seen.add(key)
        if len(key) > MAX_LENGTH:
            issues.append(
                Issue(field, "key_too_long", _("A key is at most %(max)s characters.") % {"max": MAX_LENGTH})
            )
        if len(value) > MAX_LENGTH:
            issues.append(
                Issue(
                    field, "value_too_long", _("A value is at most %(max)s characters.") % {"max": MAX_LENGTH}
                )
            )
        hidden = invisible_chars(key)
        if hidden:
            issues.append(
                Issue(
                    field,
                    "invisible_chars",
                    _("The key “%(key)s” contains an invisible character (%(codes)s): type the key again.")
                    % {
                        "key": "".join(ch for ch in key if unicodedata.category(ch) != "Cf"),
                        "codes": ", ".join(hidden),
                    },
                )
            )
        if CONTROL_CHARS.search(key) or CONTROL_CHARS.search(value):
            issues.append(
                Issue(
                    field, "control_chars", _("Tags cannot contain control characters (such as line breaks).")
                )
            )
    return issues


def tags_as_dict(tags: Any) -> dict[str, str]:
    """The tag set as a dict (call after validate_tags found no issue)."""
    pairs, _issues = _normalise_tags(tags)
    return {k: v for k, v in pairs}


def _coordinate_issue(lon: Any, lat: Any) -> Issue | None:
    if isinstance(lon, bool) or isinstance(lat, bool):
        return Issue("geometry", "not_number", _("Coordinates must be numbers."))
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        return Issue("geometry", "not_number", _("Coordinates must be numbers."))
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return Issue("geometry", "not_number", _("Coordinates must be finite numbers."))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return Issue(
            "geometry",
            "out_of_range",
            _("Coordinates are out of range (longitude -180 to 180, latitude -90 to 90)."),
        )
    return None


def _validate_node(payload: Mapping[str, Any]) -> list[Issue]:
    geometry = payload.get("geometry")
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point" or not isinstance(coords, list):
        return [Issue("geometry", "format", _("A point needs a location."))]
    if len(coords) < 2:
        return [Issue("geometry", "format", _("A point needs a longitude and a latitude."))]
    issue = _coordinate_issue(coords[0], coords[1])
    return [issue] if issue else []


def _validate_way(payload: Mapping[str, Any]) -> list[Issue]:
    nodes = payload.get("nodes")
    if not isinstance(nodes, list):
        return [Issue("geometry", "format", _("A line or area needs a list of vertices."))]
    coords: list[tuple[float, float]] = []
    refs: list[int] = []
    for item in nodes:
        if not isinstance(item, list | tuple) or len(item) != 3:
            return [Issue("geometry", "format", _("Each vertex is [node id or null, longitude, latitude]."))]
        ref, lon, lat = item
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, int)):
            return [Issue("geometry", "format", _("A vertex's node id must be an integer or null."))]
        issue = _coordinate_issue(lon, lat)
        if issue:
            return [issue]
        if ref is not None:
            refs.append(ref)
        coords.append((float(lon), float(lat)))
    closed = bool(payload.get("closed"))
    if len(set(refs)) != len(refs):
        return [Issue("geometry", "repeated_node", _("A vertex is used twice in this shape."))]
    total = len(coords) + (1 if closed else 0)
    if len(coords) < MIN_WAY_NODES:
        return [Issue("geometry", "too_few_nodes", _("A line needs at least 2 points."))]
    if total > MAX_WAY_NODES:
        return [
            Issue(
                "geometry",
                "too_many_nodes",
                _("A line or area has at most %(max)s points.") % {"max": MAX_WAY_NODES},
            )
        ]
    if closed:
        if len(set(coords)) < 3:
            return [Issue("geometry", "area_too_small", _("An area needs at least 3 distinct points."))]
        ring = LinearRing(coords)
        if not ring.is_simple or not Polygon(ring).is_valid:
            return [
                Issue(
                    "geometry",
                    "self_intersection",
                    _("The outline crosses itself: move a point so that it does not."),
                )
            ]
    else:
        if len(set(coords)) < 2:
            return [Issue("geometry", "too_few_nodes", _("A line needs at least 2 distinct points."))]
        line = LineString(coords)
        if not line.is_simple:
            return [
                Issue(
                    "geometry",
                    "self_intersection",
                    _("The line crosses itself: move a point so that it does not."),
                )
            ]
    return []


def _validate_relation(payload: Mapping[str, Any]) -> list[Issue]:
    members = payload.get("members")
    if not isinstance(members, list):
        return [Issue("members", "format", _("A relation needs a list of members."))]
    for member in members:
        if (
            not isinstance(member, Mapping)
            or member.get("type") not in {"node", "way", "relation"}
            or isinstance(member.get("ref"), bool)
            or not isinstance(member.get("ref"), int)
            or not isinstance(member.get("role", ""), str)
        ):
            return [Issue("members", "format", _("Each member needs a type, a ref and a role."))]
        if len(member.get("role", "")) > MAX_LENGTH or CONTROL_CHARS.search(member.get("role", "")):
            return [Issue("members", "role", _("A member role is at most 255 characters of plain text."))]
    return []


VALIDATORS = {"node": _validate_node, "way": _validate_way, "relation": _validate_relation}


def validate_geometry(element_type: str, payload: Any) -> list[Issue]:
    """Check the shape part of a payload (see mapping.store for the format)."""
    if element_type not in VALIDATORS:
        return [Issue("element_type", "unknown", _("Unknown element type."))]
    if not isinstance(payload, Mapping):
        return [Issue("geometry", "format", _("The change has no shape."))]
    return VALIDATORS[element_type](payload)


MAX_JOINS = 100
MAX_ID = 2**62  # OSM ids and versions fit in a bigint; anything larger is not an element
JOIN_KEYS = {"way", "base_version", "segment", "vertex", "before"}


def _join_issue(message: str) -> list[Issue]:
    return [Issue("joins", "join_format", message)]


def _int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < MAX_ID


def validate_joins(element_type: str, payload: Mapping[str, Any]) -> list[Issue]:
    """The shape of ``joins`` (see :class:`mapping.payloads.Join`): where each new vertex joins
    another way. Whether those ways exist, and the vertex lies on that segment, is the gate's."""
    joins = payload.get("joins")
    if joins is None or joins == []:
        return []
    if element_type == "relation":
        return _join_issue(_("Only a point or a line can be joined to another line."))
    if not isinstance(joins, list) or len(joins) > MAX_JOINS:
        return _join_issue(_("At most %(max)s junctions per change.") % {"max": MAX_JOINS})
    nodes = payload.get("nodes") or []
    seen: set[tuple[Any, ...]] = set()
    for join in joins:
        if not isinstance(join, Mapping) or not set(join) <= JOIN_KEYS:
            return _join_issue(_("Each junction names a line, its version and a segment."))
        if not (_int(join.get("way"), -MAX_ID) and _int(join.get("base_version"), 1)):
            return _join_issue(_("Each junction names a line, its version and a segment."))
        if not _int(join.get("segment"), 0) or join["segment"] >= MAX_WAY_NODES:
            return _join_issue(_("A junction's segment is not a segment of that line."))
        if element_type == "way":
            vertex = join.get("vertex")
            if not isinstance(vertex, int) or not _int(vertex, 0) or vertex >= len(nodes):
                return _join_issue(_("A junction's point is not a point of this line."))
            if not isinstance(nodes[vertex], list | tuple) or nodes[vertex][0] is not None:
                return _join_issue(_("Only a new point can be inserted into another line."))
            key: tuple[Any, ...] = (join["way"], vertex)
        else:
            key = (join["way"],)
        if key in seen or (join["way"], "segment", join["segment"]) in seen:
            return _join_issue(_("A point is joined twice to the same line."))
        seen |= {key, (join["way"], "segment", join["segment"])}
    return []


def validate_payload(element_type: str, payload: Any) -> list[Issue]:
    """Tags and geometry of one payload, and its junctions with other ways."""
    if not isinstance(payload, Mapping):
        return [Issue("geometry", "format", _("The change has no shape."))]
    issues = validate_tags(payload.get("tags", {})) + validate_geometry(element_type, payload)
    return issues or validate_joins(element_type, payload)


def issues_by_field(issues: Iterable[Issue]) -> dict[str, list[str]]:
    """{field: [messages]}, the shape of a 400 answer."""
    out: dict[str, list[str]] = {}
    for issue in issues:
        out.setdefault(issue.field, []).append(issue.message)
    return out

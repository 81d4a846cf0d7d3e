"""Automatic quality checks run on every revision: flags for the reviewer, never silent rejections.

:func:`run_checks` returns a list of flags, each a JSON-ready dict::

    {"code": "likely_duplicate", "severity": "info" | "warning" | "error",
     "message_en": "...", "message_fr": "...", "data": {...}}

Both languages are stored with the flag (the reviewer and the resident may not share a language, and a
flag is read long after it was raised). Checks only look at what the revision changes: a key that was
already there is not the contributor's doing. ``submit_edit`` calls :func:`run_checks` before saving,
so the revision may not have a primary key yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.utils.translation import gettext_lazy
from shapely.geometry import mapping as shapely_mapping

from mapping.geometry import is_area
from mapping.models import ElementType, Revision
from mapping.payloads import Payload
from mapping.store import payload_geometry
from parties import presets

Flag = dict[str, Any]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- Thresholds (documented in docs/review.md) ---
DUPLICATE_METRES = 10.0  # same kind of point feature this close to a published one
DUPLICATE_AREA_SHARE = 0.5  # an area overlapping a same-kind area by more than this share
LONG_VALUE = 150  # characters; OSM's hard limit (255) is refused by validation
LONG_NAME = 80
LONG_TEXT_KEYS = frozenset({"description", "note", "inscription", "opening_hours", "fixme", "source"})
LARGE_WAY_NODES = 40  # deleting a way with this many vertices
LARGE_RELATION_MEMBERS = 10
LARGE_VERTEX_LOSS = 10  # a reshape dropping this many vertices and half of them
MASS_DELETIONS = 10  # pending deletions by one contributor in one party

PRIMARY_KEYS = (
    "amenity", "shop", "tourism", "leisure", "emergency", "healthcare", "office", "craft", "historic",
    "man_made", "natural", "highway", "railway", "public_transport", "building", "landuse", "barrier",
)  # fmt: skip

KNOWN_KEYS = _words(
    """
    access addr:city addr:country addr:housenumber addr:postcode addr:street addr:place admin_level
    aerialway aeroway alt_name amenity area atm backrest barrier bench bicycle bicycle_parking bin
    boundary brand building building:levels building:material capacity changing_table check_date
    colour construction contact:email contact:phone contact:website covered craft crossing cuisine
    cycleway delivery denomination description diet:vegan diet:vegetarian direction disused drinking_water
    ele email emergency entrance fee fixme foot footway government handrail healthcare height highway
    historic horse image incline indoor information inscription internet_access junction kerb landuse
    lanes layer leaf_cycle leaf_type leisure level lit location man_made material maxspeed maxheight
    maxweight memorial motor_vehicle name network noexit note official_name old_name oneway opening_hours
    operator outdoor_seating parking payment:cash payment:cards phone place place_of_worship playground
    post_box power public_transport railway ramp recycling_type ref religion roof:shape route seats
    service shelter shelter_type shop short_name smoking source sport start_date step_count steps
    supervised surface tactile_paving takeaway toilets toilets:wheelchair tourism tracktype traffic_signals
    tunnel bridge type unisex vending waste water waterway website wheelchair width wikidata wikipedia
    wood operator:type species genus height:max capacity:disabled defibrillator:location
    """
)
# Namespaces whose sub-keys are all acceptable (name:fr, addr:*, payment:*...).
KNOWN_PREFIXES = (
    "name:", "alt_name:", "old_name:", "official_name:", "addr:", "contact:", "payment:", "diet:", "fuel:",
    "source:", "note:", "description:", "wheelchair:", "opening_hours:", "disused:", "was:", "check_date:",
    "building:", "roof:", "recycling:", "capacity:", "access:", "maxspeed:", "lanes:", "cycleway:",
    "sidewalk:", "parking:", "ref:", "wikipedia:", "toilets:", "service:", "seamark:", "generator:",
)  # fmt: skip

KNOWN_VALUES: dict[str, frozenset[str]] = {
    "amenity": _words(
        """bench waste_basket bicycle_parking parking restaurant cafe bar pub fast_food pharmacy school
        kindergarten bank atm post_box post_office library townhall place_of_worship cinema theatre
        doctors dentist hospital clinic toilets drinking_water fountain recycling shelter bus_station
        fuel charging_station car_sharing bicycle_rental taxi police fire_station community_centre
        marketplace ice_cream vending_machine telephone clock parcel_locker social_facility waste_disposal
        bbq hunting_stand childcare arts_centre nightclub university college"""
    ),
    "shop": _words(
        """bakery butcher supermarket convenience clothes shoes hairdresser florist books kiosk optician
        bicycle car car_repair electronics hardware furniture jewelry gift chemist beauty cosmetics
        greengrocer deli wine alcohol tobacco newsagent mobile_phone computer toys sports pet travel_agency
        laundry dry_cleaning variety_store department_store mall stationery photo music art frame
        confectionery pastry cheese seafood farm garden_centre doityourself interior_decoration tailor
        second_hand charity funeral_directors tea coffee"""
    ),
    "highway": _words(
        """motorway trunk primary secondary tertiary unclassified residential service living_street
        pedestrian track footway path cycleway bridleway steps corridor bus_stop crossing traffic_signals
        street_lamp stop give_way turning_circle elevator motorway_link trunk_link primary_link
        secondary_link tertiary_link road construction speed_camera milestone"""
    ),
    "leisure": _words(
        """park playground pitch sports_centre swimming_pool garden picnic_table fitness_station
        fitness_centre stadium track dog_park nature_reserve marina slipway bandstand outdoor_seating
        common firepit"""
    ),
    "tourism": _words(
        """hotel hostel guest_house motel museum gallery viewpoint information attraction artwork
        picnic_site camp_site caravan_site zoo theme_park apartment chalet"""
    ),
    "building": _words(
        """yes house residential apartments detached semidetached_house terrace garage garages shed
        commercial retail industrial office church chapel school hospital public civic roof hut barn
        farm_auxiliary warehouse kindergarten train_station service university"""
    ),
    "surface": _words(
        """paved asphalt concrete paving_stones sett cobblestone unpaved compacted fine_gravel gravel
        ground dirt grass sand wood metal"""
    ),
    "wheelchair": frozenset({"yes", "no", "limited", "designated"}),
    "backrest": frozenset({"yes", "no"}),
    "lit": frozenset({"yes", "no", "automatic", "limited"}),
    "oneway": frozenset({"yes", "no", "-1", "reversible", "alternating"}),
}

# Fields a feature needs: (key, values or None for any) -> keys. Our own list, because iD's presets
# (parties.presets) mark no field as required.
BUILTIN_REQUIRED: list[tuple[str, frozenset[str] | None, tuple[str, ...]]] = [
    ("shop", None, ("name",)),
    ("office", None, ("name",)),
    ("craft", None, ("name",)),
    (
        "amenity",
        _words(
            """restaurant cafe bar pub fast_food pharmacy school kindergarten bank library townhall
            cinema theatre doctors dentist clinic hospital community_centre"""
        ),
        ("name",),
    ),
    ("amenity", frozenset({"place_of_worship"}), ("name", "religion")),
    ("tourism", frozenset({"hotel", "hostel", "guest_house", "museum"}), ("name",)),
]

# Each code: severity, English and French templates (filled with the flag's data).
MESSAGES: dict[str, tuple[str, str, str]] = {
    "geometry_repaired": (
        "warning",
        "The outline of this area crosses itself; a repaired shape is offered.",
        "Le contour de cette surface se croise ; une forme réparée est proposée.",
    ),
    "geometry_unrepairable": (
        "error",
        "The shape is not valid and cannot be repaired: it needs to be drawn again.",
        "La forme n'est pas valide et ne peut pas être réparée : il faut la redessiner.",
    ),
    "outside_party_area": (
        "warning",
        "This feature lies outside the party's area.",
        "Cet objet est en dehors de la zone de la cartopartie.",
    ),
    "missing_required_field": (
        "warning",
        "A required field is missing: {keys}.",
        "Un champ obligatoire manque : {keys}.",
    ),
    "likely_duplicate": (
        "warning",
        "Likely duplicate: a feature of the same kind ({what}) is already mapped {distance} m away.",
        "Doublon probable : un objet du même type ({what_fr}) est déjà cartographié à {distance_fr} m.",
    ),
    "misspelt_key": (
        "warning",
        "Unknown key “{key}”: did you mean “{suggestion}”?",
        "Clé inconnue « {key} » : vouliez-vous dire « {suggestion} » ?",
    ),
    "unknown_key": (
        "info",
        "Unknown key “{key}”: check it is a tag OpenStreetMap uses.",
        "Clé inconnue « {key} » : vérifiez qu'OpenStreetMap utilise cette clé.",
    ),
    "misspelt_value": (
        "warning",
        "Unusual value “{value}” for “{key}”: did you mean “{suggestion}”?",
        "Valeur inhabituelle « {value} » pour « {key} » : vouliez-vous dire « {suggestion} » ?",
    ),
    "long_value": (
        "info",
        "Unusually long value for “{key}” ({length} characters).",
        "Valeur inhabituellement longue pour « {key} » ({length} caractères).",
    ),
    "deletes_used_feature": (
        "error",
        "This feature is part of {count} other feature(s): deleting it would break them.",
        "Cet objet fait partie de {count} autre(s) objet(s) : le supprimer les casserait.",
    ),
    "large_deletion": (
        "warning",
        "Large deletion: {count} {what}.",
        "Suppression importante : {count} {what_fr}.",
    ),
    "mass_deletion": (
        "warning",
        "This contributor has {count} deletions waiting for review in this party.",
        "Ce contributeur a {count} suppressions en attente de validation dans cette cartopartie.",
    ),
}


# What the review queue shows for each code (the code itself is for filters and the API).
LABELS: dict[str, Any] = {
    "geometry_repaired": gettext_lazy("Shape repaired"),
    "geometry_unrepairable": gettext_lazy("Invalid shape"),
    "outside_party_area": gettext_lazy("Outside the area"),
    "missing_required_field": gettext_lazy("Missing field"),
    "likely_duplicate": gettext_lazy("Likely duplicate"),
    "misspelt_key": gettext_lazy("Misspelt key"),
    "unknown_key": gettext_lazy("Unknown key"),
    "misspelt_value": gettext_lazy("Unusual value"),
    "long_value": gettext_lazy("Long value"),
    "deletes_used_feature": gettext_lazy("Deletes a used feature"),
    "large_deletion": gettext_lazy("Large deletion"),
    "mass_deletion": gettext_lazy("Many deletions"),
}
SEVERITIES: dict[str, Any] = {
    "error": gettext_lazy("error"),
    "warning": gettext_lazy("warning"),
    "info": gettext_lazy("note"),
}


def flag_label(code: str) -> str:
    """The short name of a flag in the active language ("Likely duplicate", "Doublon probable")."""
    return str(LABELS.get(code) or gettext_lazy("Quality check"))


def make_flag(code: str, **data: Any) -> Flag:
    """A flag with both messages filled from ``data`` (also stored, for the page to highlight)."""
    severity, en, fr = MESSAGES[code]
    return {
        "code": code,
        "severity": severity,
        "message_en": en.format(**data),
        "message_fr": fr.format(**data),
        "data": data,
    }


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit`` (returns limit + 1 then)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def suggest(word: str, known: Iterable[str]) -> str | None:
    """The closest known word within 2 edits (1 for short words), or None."""
    limit = 1 if len(word) <= 4 else 2
    best: tuple[int, str] | None = None
    for candidate in known:
        d = edit_distance(word.lower(), candidate, limit)
        if d <= limit and (best is None or (d, candidate) < best):
            best = (d, candidate)
    return best[1] if best else None


# --- Individual checks -------------------------------------------------------------------------


def _tags(payload: dict | None) -> dict[str, str]:
    tags = (payload or {}).get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def _changed_tags(revision: Revision) -> dict[str, str]:
    before, after = _tags(revision.before), _tags(revision.after)
    return {k: v for k, v in after.items() if before.get(k) != v}


def check_geometry(revision: Revision) -> list[Flag]:
    """Invalid shapes: repaired with shapely ``make_valid`` (offered in ``data.repaired``) or not."""
    after = revision.after
    if revision.action == Revision.Action.DELETE or not after or revision.element_type != ElementType.WAY:
        return []
    coords = [(float(n[1]), float(n[2])) for n in after.get("nodes", [])]
    distinct = list(dict.fromkeys(coords))
    closed = bool(after.get("closed"))
    if len(distinct) < 2 or (closed and len(distinct) < 3):
        return [make_flag("geometry_unrepairable", reason="too few distinct points")]
    if not (closed and is_area(_tags(after))):
        return []  # a line may cross itself in OSM (loops, roundabouts): nothing to repair
    geom = shapely.Polygon([*coords, coords[0]])
    if geom.is_valid:
        return []
    reason = shapely.is_valid_reason(geom)
    repaired = shapely.make_valid(geom)
    polygons = [
        g for g in getattr(repaired, "geoms", [repaired]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    repaired = shapely.union_all(polygons) if polygons else None
    if repaired is None or repaired.is_empty or repaired.area < geom.envelope.area * 1e-6:
        return [make_flag("geometry_unrepairable", reason=reason)]
    flag = make_flag("geometry_repaired", reason=reason)
    flag["data"]["repaired"] = shapely_mapping(repaired)
    return [flag]


def _geos(revision: Revision, payload: Payload | None) -> GEOSGeometry | None:
    try:
        return payload_geometry(revision.element_type, payload)
    except Exception:  # malformed payloads are validation's business, not a quality flag
        return None


def check_party_area(revision: Revision) -> list[Flag]:
    """Changes outside the party's area (deletions: where the feature was)."""
    party = revision.party
    if party is None or party.area is None:
        return []
    payload = revision.before if revision.action == Revision.Action.DELETE else revision.after
    geom = _geos(revision, payload)
    if geom is None or party.area.covers(geom):
        return []
    return [make_flag("outside_party_area")]


def required_keys(tags: dict[str, str]) -> list[str]:
    """The keys a feature with these tags needs, from :data:`BUILTIN_REQUIRED`."""
    found: list[str] = []
    for key, values, needed in BUILTIN_REQUIRED:
        if key in tags and (values is None or tags[key] in values):
            found.extend(k for k in needed if k not in found)
    return found


def check_required_fields(revision: Revision) -> list[Flag]:
    if revision.action == Revision.Action.DELETE:
        return []
    tags = _tags(revision.after)
    missing = [k for k in required_keys(tags) if not tags.get(k, "").strip()]
    return [make_flag("missing_required_field", keys=", ".join(missing))] if missing else []


def _primary_tag(tags: dict[str, str]) -> tuple[str, str] | None:
    for key in PRIMARY_KEYS:
        if key in tags:
            return key, tags[key]
    return None


DUPLICATE_POINT_SQL = """
WITH p AS (SELECT ST_GeomFromEWKT(%(ewkt)s) AS g)
SELECT t, osm_id, round(ST_Distance(geom::geography, p.g::geography)::numeric, 1) FROM (
  SELECT 'node' AS t, osm_id, geom FROM mapping_node
  WHERE town_id = %(town)s AND visible AND tags <> '{}'::jsonb  -- the partial spatial index
    AND tags->>%(key)s = %(value)s AND osm_id <> %(self)s
  UNION ALL
  SELECT 'way', osm_id, geom FROM mapping_way
  WHERE town_id = %(town)s AND visible AND geom IS NOT NULL AND tags->>%(key)s = %(value)s
    AND osm_id <> %(self)s
) e, p
WHERE e.geom && ST_Expand(p.g, 0.001) AND ST_DWithin(e.geom::geography, p.g::geography, %(metres)s)
ORDER BY 3 LIMIT 1
"""

DUPLICATE_AREA_SQL = """
WITH p AS (SELECT ST_GeomFromEWKT(%(ewkt)s) AS g)
SELECT 'way', osm_id, 0 FROM mapping_way, p
WHERE town_id = %(town)s AND visible AND geom && p.g AND tags->>%(key)s = %(value)s
  AND osm_id <> %(self)s AND ST_Dimension(geom) = 2 AND ST_Intersects(geom, p.g)
  AND ST_Area(ST_Intersection(geom, p.g)) > %(share)s * LEAST(ST_Area(geom), ST_Area(p.g))
LIMIT 1
"""


def _kind_name(tags: dict[str, str], lang: str) -> str:
    """The preset's name for these tags ("Bench", "Banc"), so that messages never show raw tags."""
    return presets.preset_name(presets.match_preset(tags), lang)


def check_duplicate(revision: Revision) -> list[Flag]:
    """A new feature of the same kind within a few metres of a published one (PostGIS, geography)."""
    if revision.action != Revision.Action.CREATE:
        return []
    tags = _tags(revision.after)
    primary = _primary_tag(tags)
    geom = _geos(revision, revision.after)
    if primary is None or geom is None or geom.empty:
        return []
    params: dict[str, Any] = {
        "ewkt": geom.ewkt,
        "town": revision.town_id,
        "key": primary[0],
        "value": primary[1],
        "self": revision.element_id,
        "metres": DUPLICATE_METRES,
        "share": DUPLICATE_AREA_SHARE,
    }
    if geom.geom_type == "Point":
        sql = DUPLICATE_POINT_SQL
    elif geom.geom_type == "Polygon" and geom.valid:
        sql = DUPLICATE_AREA_SQL
    else:
        return []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return []
    return [
        make_flag(
            "likely_duplicate",
            tag=f"{primary[0]}={primary[1]}",
            what=_kind_name(tags, "en") or f"{primary[0]}={primary[1]}",
            what_fr=_kind_name(tags, "fr") or f"{primary[0]}={primary[1]}",
            distance=float(row[2]),
            distance_fr=f"{float(row[2]):g}".replace(".", ","),  # a decimal comma in French
            element_type=row[0],
            element_id=row[1],
        )
    ]


def _known_key(key: str) -> bool:
    return key in KNOWN_KEYS or key in KNOWN_VALUES or key.startswith(KNOWN_PREFIXES)


def check_tag_schema(revision: Revision) -> list[Flag]:
    """Keys and values added or changed by the revision, against the known tagging schema."""
    flags: list[Flag] = []
    for key, value in _changed_tags(revision).items():
        if not _known_key(key):
            suggestion = suggest(key, KNOWN_KEYS | set(KNOWN_VALUES))
            if suggestion:
                flags.append(make_flag("misspelt_key", key=key, suggestion=suggestion))
            else:
                flags.append(make_flag("unknown_key", key=key))
            continue
        known = KNOWN_VALUES.get(key)
        if known and value not in known and ";" not in value:
            suggestion = suggest(value, known)
            if suggestion and suggestion != value:
                flags.append(make_flag("misspelt_value", key=key, value=value, suggestion=suggestion))
    return flags


def check_long_values(revision: Revision) -> list[Flag]:
    flags = []
    for key, value in _changed_tags(revision).items():
        limit = LONG_NAME if key == "name" or key.startswith("name:") else LONG_VALUE
        if key in LONG_TEXT_KEYS:
            continue  # free text is long by nature; OSM's 255-character limit is checked by validation
        if len(value) > limit:
            flags.append(make_flag("long_value", key=key, length=len(value)))
    return flags


def _users_of(revision: Revision) -> list[str]:
    """Ways (for a node) and relations (for anything) that reference the element being deleted."""
    users: list[str] = []
    with connection.cursor() as cur:
        if revision.element_type == ElementType.NODE:
            cur.execute(
                "SELECT osm_id FROM mapping_way WHERE town_id = %s AND visible AND nodes @> ARRAY[%s]::bigint[]"
                " ORDER BY osm_id LIMIT 5",
                [revision.town_id, revision.element_id],
            )
            users += [f"way {r[0]}" for r in cur.fetchall()]
        cur.execute(
            "SELECT osm_id FROM mapping_relation WHERE town_id = %s AND visible AND members @> %s::jsonb"
            " ORDER BY osm_id LIMIT 5",
            [
                revision.town_id,
                json.dumps([{"type": revision.element_type, "ref": revision.element_id}]),
            ],
        )
        users += [f"relation {r[0]}" for r in cur.fetchall()]
    return users


def check_deletions(revision: Revision) -> list[Flag]:
    """Deleting a feature others use, large deletions and many deletions by one contributor."""
    flags: list[Flag] = []
    before = revision.before or {}
    if revision.action == Revision.Action.DELETE:
        users = _users_of(revision)
        if users:
            flags.append(
                make_flag("deletes_used_feature", count=len(users), users=", ".join(users), elements=users)
            )
        if revision.element_type == ElementType.WAY and len(before.get("nodes", [])) >= LARGE_WAY_NODES:
            flags.append(
                make_flag("large_deletion", count=len(before["nodes"]), what="vertices", what_fr="sommets")
            )
        members = before.get("members", [])
        if revision.element_type == ElementType.RELATION and len(members) >= LARGE_RELATION_MEMBERS:
            flags.append(make_flag("large_deletion", count=len(members), what="members", what_fr="membres"))
        if revision.party_id and revision.author_id:
            pending = (
                Revision.objects.filter(
                    party_id=revision.party_id,
                    author_id=revision.author_id,
                    action=Revision.Action.DELETE,
                    status=Revision.Status.PENDING,
                )
                .exclude(pk=revision.pk)
                .count()
            )
            if pending + 1 >= MASS_DELETIONS:
                flags.append(make_flag("mass_deletion", count=pending + 1))
    elif revision.action == Revision.Action.MODIFY and revision.element_type == ElementType.WAY:
        lost = len(before.get("nodes", [])) - len((revision.after or {}).get("nodes", []))
        if lost >= LARGE_VERTEX_LOSS and lost * 2 >= len(before.get("nodes", [])):
            flags.append(make_flag("large_deletion", count=lost, what="vertices", what_fr="sommets"))
    return flags


CHECKS: tuple[Callable[[Revision], list[Flag]], ...] = (
    check_geometry,
    check_party_area,
    check_required_fields,
    check_duplicate,
    check_tag_schema,
    check_long_values,
    check_deletions,
)


def run_checks(revision: Revision) -> list[Flag]:
    """Every check on ``revision`` (saved or not); flags ordered by severity, errors first."""
    flags = [flag for check in CHECKS for flag in check(revision)]
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(flags, key=lambda f: order[f["severity"]])


def repaired_geometry(flags: list[Flag]) -> dict | None:
    """The repaired shape offered by the geometry check, as GeoJSON, if any."""
    for flag in flags:
        if flag.get("code") == "geometry_repaired":
            return flag["data"].get("repaired")
    return None


def repaired_payload(after: dict, flags: list[Flag]) -> dict | None:
    """A way payload using the repaired shape's outer ring (largest part); vertices that did not move
    keep their node ids. None when no repaired shape is offered."""
    repaired = repaired_geometry(flags)
    if repaired is None:
        return None
    polygons = [repaired["coordinates"]] if repaired["type"] == "Polygon" else repaired["coordinates"]
    ring = max(polygons, key=lambda p: shapely.Polygon(p[0]).area)[0]
    refs = {(round(float(n[1]), 7), round(float(n[2]), 7)): n[0] for n in after.get("nodes", [])}
    nodes = [[refs.get((round(lon, 7), round(lat, 7))), lon, lat] for lon, lat in ring[:-1]]
    return {**after, "nodes": nodes, "closed": True}

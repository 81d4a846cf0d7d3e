"""Read side of the exports: PostgreSQL serialises elements in bulk, Python only moves chunks.

Every query starts from one town. A :class:`Scope` narrows the town to a party's accepted changes,
a bounding box and/or the changes accepted since a date; a narrowed scope is materialised once into
temporary tables ``exp_node``/``exp_way``/``exp_relation`` (with the nodes every selected way needs,
so ways are always complete).

Elements come out in osmium's order (the order ``osmium sort`` and ``apply-changes`` write): by
type, negative ids first by absolute value, then positive ids ascending. Chunks are id ranges of at
most ``CHUNK`` rows (one index range scan each, cut and built by :mod:`exports.producer`), so memory
stays at a few chunks whatever the town's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection

from core.geo import SRID
from exports import producer
from exports.producer import Pass
from mapping.models import Revision
from mapping.selectors import BBox
from parties.models import Town, public_name

KINDS = ("node", "way", "relation")
CHUNK = 25_000  # elements per chunk: ~2-5 MB of OPL, bounding memory


@dataclass(frozen=True)
class Scope:
    """What part of a town to export; all None means the whole town."""

    party_id: int | None = None
    bbox: BBox | None = None
    since: dt.datetime | None = None

    @property
    def whole_town(self) -> bool:
        return self.party_id is None and self.bbox is None and self.since is None

    def slug(self) -> str:
        """A short, file-name-safe description (part of cache keys and download names)."""
        parts = []
        if self.party_id is not None:
            parts.append(f"party-{self.party_id}")
        if self.bbox is not None:
            b = self.bbox
            parts.append(f"bbox-{b.west:.5f}_{b.south:.5f}_{b.east:.5f}_{b.north:.5f}")
        if self.since is not None:
            parts.append("since-" + self.since.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ"))
        return "-".join(parts) or "all"


# --- OPL serialisation in SQL (https://osmcode.org/opl-file-format/) ---------------------------
# Characters OPL gives a meaning to are written as %<hex>%; libosmium decodes them when reading.
_OPL_ESCAPES = [("%", "%25%"), (" ", "%20%"), (",", "%2c%"), ("=", "%3d%"), ("@", "%40%")]
_OPL_ESCAPES += [("\\", "%5c%"), ("\n", "%a%"), ("\r", "%d%"), ("\t", "%9%")]


def _esc(expr: str) -> str:
    for char, code in _OPL_ESCAPES:
        literal = char.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        # %% because these queries run with parameters (psycopg placeholders).
        expr = f"replace({expr}, E'{literal.replace('%', '%%')}', '{code.replace('%', '%%')}')"
    return expr


_TAGS = (
    "CASE WHEN e.tags = '{}'::jsonb THEN '' ELSE (SELECT string_agg("
    + _esc("t.key")
    + " || '=' || "
    + _esc("t.value")
    + ", ',' ORDER BY t.key) FROM jsonb_each_text(e.tags) t) END"
)
# ISO 8601 in UTC; a cast and a replace cost a fifth of to_char() (a third of the node query).
_TS = "replace((e.updated_at AT TIME ZONE 'UTC')::timestamp(0)::text, ' ', 'T') || 'Z'"
_MEMBERS = (
    "COALESCE((SELECT string_agg(substr(m->>'type', 1, 1) || (m->>'ref') || '@' || "
    + _esc("(m->>'role')")
    + ", ',' ORDER BY o) FROM jsonb_array_elements(e.members) WITH ORDINALITY AS mm(m, o)), '')"
)


# osm2pgsql (and most loaders) refuse negative ids; PBF files give local elements this offset.
LOCAL_ID_OFFSET = 1_000_000_000_000_000


def _id(expr: str, positive: bool) -> str:
    return f"(CASE WHEN {expr} < 0 THEN {LOCAL_ID_OFFSET} - {expr} ELSE {expr} END)" if positive else expr


# Most elements of a town share one timestamp (an import stamps all of them with its own time):
# formatting it once, in the build, and comparing instead saves nine tenths of the timestamp's cost
# (0.2 s of the server's CPU for a 1M-object town). Equal timestamps have equal text, so the file
# is the same. %(common_time)s and %(common_text)s come from :func:`common_time`.
_TS_COMMON = f"CASE WHEN e.updated_at = %(common_time)s THEN %(common_text)s ELSE {_TS} END"


def common_time(town: Town) -> tuple[tuple[str, Any], ...]:
    """The query parameters of :data:`_TS_COMMON`: the timestamp of the town's first node (by id),
    as the one most elements share, and its OPL text (NULLs for an empty town: never equal)."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT e.updated_at, {_TS} FROM mapping_node e WHERE e.town_id = %s ORDER BY e.osm_id LIMIT 1",
            [town.pk],
        )
        row = cur.fetchone()
    when, text = row if row else (None, None)
    return (("common_time", when), ("common_text", text))


def _opl_line(
    kind: str, version: str = "e.version", positive: bool = False, compact: bool = False, common: bool = False
) -> str:
    """SQL for one element's OPL line; invisible elements are written as deletions (no body).

    ``positive``: local (negative) ids, in the element and in its references, are written as
    ``LOCAL_ID_OFFSET + |id|`` (for the loaders that refuse negative ids).
    ``compact``: for files of visible elements only (whole files, not changes): the fields whose
    value is libosmium's default are left out (``dV``, ``c0``, ``i0``, ``u``; libosmium reads
    the same objects, and writes the same file), and so are the tests of ``visible``. A seventh
    fewer bytes for PostgreSQL to join and for the encoder to parse.
    ``common``: the timestamp is compared with the town's common one first (:data:`_TS_COMMON`).
    """
    ts = _TS_COMMON if common else _TS
    if compact:
        head = f"'{kind[0]}' || {_id('e.osm_id', positive)} || ' v' || {version} || ' t' || {ts}"
        visible = "true"
    else:
        head = f"'{kind[0]}' || {_id('e.osm_id', positive)} || ' v' || {version} || ' d' || "
        head += "CASE WHEN e.visible THEN 'V' ELSE 'D' END"
        head += f" || ' c0 t' || {ts} || ' i0 u T' || CASE WHEN e.visible THEN {_TAGS} ELSE '' END"
        visible = "e.visible"
    if kind == "node":
        xy = "' x' || ST_X(e.geom) || ' y' || ST_Y(e.geom)"
        body = xy if compact else f"CASE WHEN e.visible THEN {xy} ELSE ' x y' END"
    elif kind == "way":
        refs = "'n' || array_to_string(e.nodes, ',n')"
        if positive:
            mapped = f"(SELECT string_agg('n' || {_id('r', True)}, ',' ORDER BY o) FROM unnest(e.nodes) WITH ORDINALITY AS u(r, o))"
            refs = f"CASE WHEN 0 > ANY(e.nodes) THEN {mapped} ELSE {refs} END"
        body = f"' N' || CASE WHEN {visible} AND cardinality(e.nodes) > 0 THEN {refs} ELSE '' END"
    else:
        members = _MEMBERS.replace("(m->>'ref')", _id("(m->>'ref')::bigint", True)) if positive else _MEMBERS
        body = f"' M' || {members}" if compact else f"' M' || CASE WHEN e.visible THEN {members} ELSE '' END"
    if compact:
        # The content as the imported file gave it, when no change since has made it stale
        # (mapping migration 0012): formatting it again was most of an export's database time.
        # Its references are OSM ids, as ``positive`` writes them (stale once a local one is added).
        return f"{head} || COALESCE(e.opl, ' T' || {_TAGS} || {body}) || E'\\n'"
    return f"{head} || {body} || E'\\n'"


# Which rows a file holds. "change": what differs from the OSM base, written with the base version.
FULL_FILTER = "e.visible"
# Elements with an open upstream conflict are held back until an agent chooses (mapping.upstream).
CHANGE_FILTER = (
    "((e.osm_id < 0 AND e.visible) OR "
    "(e.osm_id > 0 AND e.base_version IS NOT NULL AND e.version <> e.base_version)) "
    "AND NOT EXISTS (SELECT 1 FROM exports_upstreamconflict c WHERE c.town_id = e.town_id "
    "AND c.element_type = '{kind}' AND c.element_id = e.osm_id AND c.status = 'open')"
)
CHANGE_VERSION = "CASE WHEN e.osm_id < 0 THEN 1 ELSE e.base_version END"


def _where(kind: str, base: str, scoped: bool) -> str:
    return f"{base} AND e.osm_id IN (SELECT osm_id FROM exp_{kind})" if scoped else base


def opl_passes(
    kind: str,
    *,
    changes: bool = False,
    scoped: bool = False,
    positive_ids: bool = False,
    common: tuple[tuple[str, Any], ...] = (),
) -> list[Pass]:
    """The chunk passes of one element kind as OPL, in osmium's order.

    ``changes``: only what differs from the OSM base, with the base version (osmChange rules).
    ``scoped``: limited to the temporary tables :func:`materialise_scope` made on this connection.
    ``positive_ids``: local elements get ``LOCAL_ID_OFFSET + |id|`` and come last (id order).
    ``common``: :func:`common_time`'s parameters, to format the shared timestamp only once.
    """
    where = _where(kind, CHANGE_FILTER.format(kind=kind) if changes else FULL_FILTER, scoped)
    version = CHANGE_VERSION if changes else "e.version"
    line = _opl_line(kind, version, positive_ids, compact=not changes, common=bool(common))
    table = f"mapping_{kind}"
    return [
        Pass(kind, table, where, line, negative, params=common)
        for negative in ((False, True) if positive_ids else (True, False))
    ]


def opl_chunks_for_town(
    town: Town,
    kind: str,
    *,
    changes: bool = False,
    scoped: bool = False,
    positive_ids: bool = False,
    chunk: int = CHUNK,
) -> Iterator[tuple[int, bytes]]:
    """(count, OPL bytes) chunks of one element kind, in osmium's order, on the build's connection
    (see :func:`opl_passes` for the options)."""
    passes = opl_passes(kind, changes=changes, scoped=scoped, positive_ids=positive_ids)
    for _kind, count, data in producer.chunks(_own_connection(), passes, town.pk, chunk):
        yield count, data


def _own_connection() -> psycopg.Connection:
    """Django's connection as psycopg's (same transaction, same temporary tables)."""
    connection.ensure_connection()
    return connection.connection


# --- GeoJSON, built by PostGIS ---------------------------------------------------------------
def _feature(kind: str) -> str:
    props = f"(e.tags || jsonb_build_object('@id', '{kind}/' || e.osm_id, '@version', e.version))::text"
    return (
        f'\'{{"type":"Feature","id":"{kind}/\' || e.osm_id || \'","properties":\' || {props} || '
        "',\"geometry\":' || ST_AsGeoJSON(e.geom, 7) || '}'"
    )


GEOJSON_CHUNK = CHUNK // 2  # a feature is about twice an OPL line


def geojson_passes(kind: str, *, scoped: bool = False) -> list[Pass]:
    """The chunk passes of GeoJSON features (tagged nodes, ways and relations with a geometry);
    a chunk's features are separated by commas."""
    base = "e.visible AND e.geom IS NOT NULL AND e.tags <> '{}'::jsonb"
    where = _where(kind, base, scoped)
    return [
        Pass(kind, f"mapping_{kind}", where, _feature(kind), negative, sep="E',\\n'")
        for negative in (True, False)
    ]


# --- Scopes ----------------------------------------------------------------------------------
SCOPE_TABLES = """
DROP TABLE IF EXISTS exp_node, exp_way, exp_relation;
CREATE TEMP TABLE exp_node (osm_id bigint PRIMARY KEY);
CREATE TEMP TABLE exp_way (osm_id bigint PRIMARY KEY);
CREATE TEMP TABLE exp_relation (osm_id bigint PRIMARY KEY);
"""


def materialise_scope(town: Town, scope: Scope) -> None:
    """Fill exp_node/exp_way/exp_relation with the scope's elements (plus the nodes ways need).

    Precondition: call inside a transaction (the tables live on this connection; drop them with
    :func:`drop_scope`). Revision-based scopes (party, since) take the elements of the *accepted*
    revisions, and for ways the vertices before and after (so moved and orphaned nodes are in).
    """
    params: dict[str, Any] = {"town": town.pk}
    with connection.cursor() as cur:
        cur.execute(SCOPE_TABLES)
        if scope.party_id is not None or scope.since is not None:
            revs = ["r.town_id = %(town)s", "r.status = %(accepted)s"]
            params["accepted"] = Revision.Status.ACCEPTED
            if scope.party_id is not None:
                revs.append("r.party_id = %(party)s")
                params["party"] = scope.party_id
            if scope.since is not None:
                revs.append("COALESCE(r.reviewed_at, r.created_at) >= %(since)s")
                params["since"] = scope.since
            cond = " AND ".join(revs)
            cur.execute(
                f"""
                CREATE TEMP TABLE exp_rev ON COMMIT DROP AS
                SELECT r.element_type, r.element_id, r.before, r.after FROM mapping_revision r WHERE {cond};
                INSERT INTO exp_node SELECT DISTINCT element_id FROM exp_rev WHERE element_type = 'node';
                INSERT INTO exp_way SELECT DISTINCT element_id FROM exp_rev WHERE element_type = 'way';
                INSERT INTO exp_relation SELECT DISTINCT element_id FROM exp_rev WHERE element_type = 'relation';
                INSERT INTO exp_node
                  SELECT DISTINCT (v->>0)::bigint FROM exp_rev,
                    jsonb_array_elements(COALESCE(before->'nodes', '[]') || COALESCE(after->'nodes', '[]')) v
                  WHERE element_type = 'way' AND v->>0 IS NOT NULL
                ON CONFLICT DO NOTHING;
                DROP TABLE exp_rev;
                """,
                params,
            )
            if scope.bbox is not None:
                _narrow_to_bbox(cur, scope.bbox, params)
        elif scope.bbox is not None:
            _select_bbox(cur, scope.bbox, params)
        # Complete ways: every node a selected way uses.
        cur.execute(
            """
            INSERT INTO exp_node
              SELECT DISTINCT unnest(w.nodes) FROM mapping_way w
              WHERE w.town_id = %(town)s AND w.osm_id IN (SELECT osm_id FROM exp_way)
            ON CONFLICT DO NOTHING;
            ANALYZE exp_node; ANALYZE exp_way; ANALYZE exp_relation;
            """,
            params,
        )


def _bbox_params(bbox: BBox, params: dict) -> None:
    params.update(w=bbox.west, s=bbox.south, e=bbox.east, n=bbox.north)


ENV = f"ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, {SRID})"


def _select_bbox(cur, bbox: BBox, params: dict) -> None:
    """Like OSM's map call: nodes inside, ways using them or crossing, relations using either."""
    _bbox_params(bbox, params)
    cur.execute(
        f"""
        INSERT INTO exp_node SELECT osm_id FROM mapping_node
          WHERE town_id = %(town)s AND geom && {ENV};
        INSERT INTO exp_way SELECT osm_id FROM mapping_way
          WHERE town_id = %(town)s AND (geom && {ENV}
            OR nodes && COALESCE((SELECT array_agg(osm_id) FROM exp_node), '{{}}'));
        INSERT INTO exp_relation SELECT r.osm_id FROM mapping_relation r
          WHERE r.town_id = %(town)s AND (r.geom && {ENV} OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(r.members) m
            WHERE (m->>'type' = 'node' AND (m->>'ref')::bigint IN (SELECT osm_id FROM exp_node))
               OR (m->>'type' = 'way' AND (m->>'ref')::bigint IN (SELECT osm_id FROM exp_way))));
        """,
        params,
    )


def _narrow_to_bbox(cur, bbox: BBox, params: dict) -> None:
    """Keep revision-scoped elements whose geometry (or, deleted, last geometry) meets the bbox."""
    _bbox_params(bbox, params)
    for kind in KINDS:
        cur.execute(
            f"""
            DELETE FROM exp_{kind} x WHERE NOT EXISTS (
              SELECT 1 FROM mapping_{kind} e WHERE e.town_id = %(town)s AND e.osm_id = x.osm_id
                AND e.geom && {ENV})
            """,
            params,
        )


def drop_scope() -> None:
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS exp_node, exp_way, exp_relation")


def count_elements(town: Town, kind: str, *, changes: bool = False, scoped: bool = False) -> int:
    """How many rows an export of this kind holds (for progress and for the checks in tests)."""
    where = _where(kind, CHANGE_FILTER.format(kind=kind) if changes else FULL_FILTER, scoped)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM mapping_{kind} e WHERE e.town_id = %(town)s AND {where}", {"town": town.pk}
        )
        return cur.fetchone()[0]


# --- The open-data page ---------------------------------------------------------------------
def changelog_for_town(town: Town):
    """Published changes (accepted revisions), newest first, with who made them."""
    return (
        Revision.objects.filter(town=town, status=Revision.Status.ACCEPTED)
        .select_related("author", "party")
        .only(
            "id",
            "action",
            "element_type",
            "element_id",
            "reviewed_at",
            "created_at",
            "author__nickname",
            "author__role",
            "preset",
            "after",
            "before",
            "party__title_en",
            "party__title_fr",
        )
        .order_by("-reviewed_at", "-id")
    )


def parties_with_changes_for_town(town: Town) -> list[dict[str, Any]]:
    """Parties with at least one accepted change, newest first, with their counts (plain dicts: the
    open-data page adds each party's downloads)."""
    from django.db.models import Count, Q

    from parties.models import Party

    rows = (
        Party.objects.filter(town=town)
        .annotate(accepted=Count("revisions", filter=Q(revisions__status=Revision.Status.ACCEPTED)))
        .filter(accepted__gt=0)
        .order_by("-starts_at")
        .values("id", "title_en", "title_fr", "hashtag", "starts_at", "accepted")
    )
    return [dict(row) for row in rows]


def contributors_for_town(town: Town) -> list[str]:
    names = {
        public_name(nickname, role)
        for nickname, role in Revision.objects.filter(town=town, status=Revision.Status.ACCEPTED)
        .values_list("author__nickname", "author__role")
        .distinct()
    }
    return sorted(names, key=str.casefold)

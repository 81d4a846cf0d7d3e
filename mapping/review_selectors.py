"""Read side of review and history: the queue with its filters and counts, diffs, contributions,
element timelines and the map as it was on a date. Every query starts from a town (or a user)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from core.geo import SRID
from mapping.models import ReviewDecision, Revision
from mapping.quality import repaired_geometry
from mapping.review import REASONS
from mapping.selectors import BadRequest, BBox, capped_feature_collection
from parties import presets as preset_data
from parties.models import Town, User, public_name

Status = Revision.Status
Decision = ReviewDecision.Decision


# --- The queue ---------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    """The queue's filters, parsed from a query string (bad values are ignored, not errors)."""

    status: str = Status.PENDING
    party: int | None = None
    author: int | None = None
    preset: str = ""
    flag: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> QueueFilters:
        def as_int(name: str) -> int | None:
            try:
                return int(query.get(name, ""))
            except ValueError:
                return None

        status = query.get("status", Status.PENDING)
        return cls(
            status=status if status in Status.values or status == "all" else Status.PENDING,
            party=as_int("party"),
            author=as_int("author"),
            preset=query.get("preset", "")[:100],
            flag=query.get("flag", "")[:40],
        )

    def apply(self, qs: QuerySet[Revision], *, skip: str = "") -> QuerySet[Revision]:
        if self.status != "all" and skip != "status":
            qs = qs.filter(status=self.status)
        if self.party is not None and skip != "party":
            qs = qs.filter(party_id=self.party)
        if self.author is not None and skip != "author":
            qs = qs.filter(author_id=self.author)
        if self.preset and skip != "preset":
            qs = qs.filter(preset=self.preset)
        if self.flag and skip != "flag":
            qs = qs.filter(flags__contains=[{"code": self.flag}])
        return qs

    def as_query(self, **override: Any) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)} | override
        query = QueryDict(mutable=True)
        for key, value in values.items():
            if value not in (None, ""):
                query[key] = str(value)
        return query.urlencode()


def queue_for_town(town: Town, filters: QueueFilters) -> QuerySet[Revision]:
    """The town's revisions matching the filters, oldest first (first come, first reviewed)."""
    qs = Revision.objects.filter(town=town).select_related("author", "party", "reviewer")
    return filters.apply(qs).order_by("created_at", "pk")


def queue_counts(town: Town, filters: QueueFilters) -> dict[str, Any]:
    """Counts for each filter's choices, the other filters held as they are."""
    base = Revision.objects.filter(town=town)
    statuses = dict(
        filters.apply(base, skip="status").values_list("status").annotate(n=Count("pk")).order_by()
    )
    parties = list(
        filters.apply(base, skip="party")
        .exclude(party=None)
        .values("party_id", "party__title_fr", "party__title_en")
        .annotate(n=Count("pk"))
        .order_by("-party__starts_at")
    )
    authors = list(
        filters.apply(base, skip="author")
        .values("author_id", "author__nickname", "author__role")
        .annotate(n=Count("pk"))
        .order_by("-n")[:100]
    )
    presets = list(
        filters.apply(base, skip="preset")
        .exclude(preset="")
        .values("preset")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    ids_sql, params = filters.apply(base, skip="flag").values("pk").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT f->>'code', count(*) FROM mapping_revision r CROSS JOIN jsonb_array_elements(r.flags) f "
            f"WHERE r.id IN ({ids_sql}) GROUP BY 1 ORDER BY 2 DESC",
            params,
        )
        flags = [{"code": code, "n": n} for code, n in cur.fetchall()]
    return {
        "status": [{"value": v, "label": label, "n": statuses.get(v, 0)} for v, label in Status.choices],
        "party": [
            {"id": p["party_id"], "title": p["party__title_fr"] or p["party__title_en"], "n": p["n"]}
            for p in parties
        ],
        "author": [
            {"id": a["author_id"], "name": public_name(a["author__nickname"], a["author__role"]), "n": a["n"]}
            for a in authors
        ],
        "preset": [{"value": p["preset"], "n": p["n"]} for p in presets],
        "flag": flags,
    }


def neighbours(town: Town, revision: Revision, filters: QueueFilters) -> tuple[int | None, int | None]:
    """Previous and next revision ids in the filtered queue (for n / p)."""
    qs = filters.apply(Revision.objects.filter(town=town))
    after = Q(created_at__gt=revision.created_at) | Q(created_at=revision.created_at, pk__gt=revision.pk)
    before = Q(created_at__lt=revision.created_at) | Q(created_at=revision.created_at, pk__lt=revision.pk)
    nxt = qs.filter(after).order_by("created_at", "pk").values_list("pk", flat=True).first()
    prev = qs.filter(before).order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    return prev, nxt


# --- Diffs -------------------------------------------------------------------------------------


def tag_diff(before: dict | None, after: dict | None) -> list[dict[str, Any]]:
    """Every key of either side: added, removed, changed or unchanged, sorted by key."""
    old = dict((before or {}).get("tags") or {})
    new = dict((after or {}).get("tags") or {})
    rows = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            change = "added"
        elif key not in new:
            change = "removed"
        elif old[key] != new[key]:
            change = "changed"
        else:
            change = "same"
        rows.append({"key": key, "old": old.get(key), "new": new.get(key), "change": change})
    return rows


def _same_place(a: list, b: list) -> bool:
    return round(float(a[0]), 7) == round(float(b[0]), 7) and round(float(a[1]), 7) == round(float(b[1]), 7)


def vertex_diff(element_type: str, before: dict | None, after: dict | None) -> list[dict[str, Any]]:
    """Points to highlight on the map: moved, added and removed vertices (or the node itself)."""
    if element_type == "node":
        old = (before or {}).get("geometry", {}).get("coordinates") if before else None
        new = (after or {}).get("geometry", {}).get("coordinates") if after else None
        if old and new and not _same_place(old, new):
            return [{"ref": None, "state": "moved", "from": old[:2], "to": new[:2]}]
        return []
    if element_type != "way":
        return []
    old_nodes = {n[0]: n[1:3] for n in (before or {}).get("nodes", []) if n[0] is not None}
    result = []
    kept = set()
    for ref, lon, lat in (after or {}).get("nodes", []):
        if ref is None or ref not in old_nodes:
            result.append({"ref": ref, "state": "added", "to": [lon, lat]})
            continue
        kept.add(ref)
        if not _same_place(old_nodes[ref], [lon, lat]):
            result.append({"ref": ref, "state": "moved", "from": old_nodes[ref], "to": [lon, lat]})
    for ref, coords in old_nodes.items():
        if ref not in kept:
            result.append({"ref": ref, "state": "removed", "from": coords})
    return result


def revision_map_data(revision: Revision, after: dict | None = None) -> dict[str, Any]:
    """What the revision page's map draws: before and after shapes and the vertices that changed."""
    after = revision.after if after is None else after

    def geojson(geom: Any) -> dict | None:
        return json.loads(geom.geojson) if geom is not None else None

    return {
        "before": geojson(revision.geom_before),
        "after": geojson(revision.geom_after),
        "vertices": vertex_diff(revision.element_type, revision.before, after),
        "repaired": repaired_geometry(revision.flags or []),
        "action": revision.action,
    }


# --- Contributions (what residents see) --------------------------------------------------------


def describe(rev: Revision) -> Revision:
    """Attach what a person recognises the feature by: its name ("Café Amann") and its preset's name in
    the reader's language ("Café", "Banc"), never the preset id (``amenity/bench``)."""
    tags = (rev.after or {}).get("tags") or (rev.before or {}).get("tags") or {}
    rev.feature_name = tags.get("name", "") if isinstance(tags, dict) else ""
    preset = rev.preset or (preset_data.match_preset(tags) if isinstance(tags, dict) else "")
    rev.preset_name = preset_data.preset_name(preset)
    rev.kind_name = rev.preset_name or preset_data.element_kind_name(rev.element_type)
    return rev


def contributions_for(user: User) -> QuerySet[Revision]:
    """The user's own revisions, newest first, with the last decision's canned reason and comment.

    ``reason_label`` (the canned reason, in the current language) and ``reason_comment`` (as the
    reviewer wrote it) come from the decision log; superseded proposals are included (status withdrawn).
    """
    if not user.is_authenticated:
        return Revision.objects.none()
    return with_outcome(Revision.objects.filter(author=user).select_related("party", "town")).order_by(
        "-created_at", "-pk"
    )


def with_outcome(revisions: QuerySet[Revision]) -> QuerySet[Revision]:
    """Annotate what :func:`outcome_label` reads, from the decision log, in the same query."""
    last = (
        ReviewDecision.objects.filter(revision=OuterRef("pk"))
        .exclude(decision=Decision.SUPERSEDED)
        .order_by("-pk")
    )
    return revisions.annotate(
        reason_code=Subquery(last.values("reason_code")[:1]),
        reason_comment=Subquery(last.values("reason")[:1]),
        last_decision=Subquery(last.values("decision")[:1]),
        merged=Exists(
            ReviewDecision.objects.filter(
                revision=OuterRef("pk"), decision=Decision.ACCEPTED, amended_after__isnull=False
            )
        ),
    )


def outcome_label(rev: Revision) -> str:
    """What became of a contribution, in the current language (a revision from contributions_for).

    An accepted edit says how it was published: as proposed, fixed by an agent, or merged with a
    version someone else had published meanwhile (the map then shows both changes).
    """
    if rev.status == Revision.Status.ACCEPTED:
        if getattr(rev, "last_decision", None) == Decision.FIXED:
            return _("Accepted with corrections by an agent")
        if getattr(rev, "merged", False):
            return _("Accepted, merged with another edit published meanwhile")
        return _("Accepted and published")
    if rev.status == Revision.Status.PENDING:
        return _("Waiting for review")
    return str(rev.get_status_display()).capitalize()


def reason_label(code: str | None) -> str:
    """The canned reason in the current language ("" for none)."""
    return str(REASONS[code]) if code in REASONS else ""


# --- History -----------------------------------------------------------------------------------


def element_history(
    town: Town, element_type: str, element_id: int, *, include_unpublished: bool
) -> list[Revision]:
    """The element's revisions, oldest first, each with its decisions (and who took them).

    The public sees what was published (accepted revisions); the town's agents see every proposal.
    """
    qs = Revision.objects.filter(town=town, element_type=element_type, element_id=element_id)
    if not include_unpublished:
        qs = qs.filter(status=Status.ACCEPTED)
    revisions = list(
        qs.select_related("author", "reviewer", "party", "reverts")
        .prefetch_related("decisions__reviewer")
        .order_by("created_at", "pk")
    )
    for rev in revisions:
        decisions = list(rev.decisions.all())
        applied = [d for d in decisions if d.decision in ReviewDecision.APPLIED]
        rev.applied_decision = applied[-1] if applied else None
        published = (
            applied[-1].amended_after if applied and applied[-1].amended_after is not None else rev.after
        )
        rev.diff = tag_diff(rev.before, published)
        rev.published_after = published
        rev.decision_log = decisions
    return revisions


def parse_as_of(raw: str | None) -> dt.datetime:
    """``YYYY-MM-DD`` (the end of that day, in the site's time zone) or an ISO date-time."""
    if not raw:
        raise BadRequest(_("Give a date as YYYY-MM-DD."))
    try:
        if "T" in raw or " " in raw.strip():
            moment = dt.datetime.fromisoformat(raw.strip())
            return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        day = dt.date.fromisoformat(raw.strip())
        # The end of 31 December 9999 is past the calendar Python knows: OverflowError, not a 500.
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    except (ValueError, OverflowError) as exc:
        raise BadRequest(_("Give a date as YYYY-MM-DD.")) from exc


AS_OF_SQL = f"""
WITH env AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, {SRID}) AS g),
applied AS (
  SELECT r.element_type AS t, r.element_id AS osm_id, d.created_at AS at, d.version_after AS version,
         r.action, r.before, coalesce(d.amended_after, r.after) AS after,
         coalesce(d.geom_amended, r.geom_after) AS geom_after, r.geom_before
  FROM mapping_reviewdecision d JOIN mapping_revision r ON r.id = d.revision_id
  WHERE d.town_id = %(town)s AND d.decision IN ('accepted', 'fixed')
),
last_before AS (
  SELECT DISTINCT ON (t, osm_id) * FROM applied WHERE at < %(at)s ORDER BY t, osm_id, at DESC
),
first_after AS (
  SELECT DISTINCT ON (t, osm_id) * FROM applied WHERE at >= %(at)s ORDER BY t, osm_id, at ASC
),
state AS (
  SELECT t, osm_id, version, after->'tags' AS tags, geom_after AS geom
  FROM last_before WHERE action <> 'delete'
  UNION ALL
  SELECT f.t, f.osm_id, (f.before->>'version')::int, f.before->'tags', f.geom_before
  FROM first_after f
  WHERE f.action <> 'create'
    AND NOT EXISTS (SELECT 1 FROM last_before l WHERE l.t = f.t AND l.osm_id = f.osm_id)
  UNION ALL
  SELECT 'node', osm_id, version, tags, geom FROM mapping_node n, env
  WHERE town_id = %(town)s AND visible AND tags <> '{{}}'::jsonb AND geom && env.g
    AND NOT EXISTS (SELECT 1 FROM applied a WHERE a.t = 'node' AND a.osm_id = n.osm_id)
  UNION ALL
  SELECT 'way', osm_id, version, tags, geom FROM mapping_way w, env
  WHERE town_id = %(town)s AND visible AND geom && env.g
    AND NOT EXISTS (SELECT 1 FROM applied a WHERE a.t = 'way' AND a.osm_id = w.osm_id)
  UNION ALL
  SELECT 'relation', osm_id, version, tags, geom FROM mapping_relation rl, env
  WHERE town_id = %(town)s AND visible AND geom && env.g
    AND NOT EXISTS (SELECT 1 FROM applied a WHERE a.t = 'relation' AND a.osm_id = rl.osm_id)
),
capped AS (
  SELECT state.* FROM state, env
  WHERE geom IS NOT NULL AND geom && env.g AND tags IS NOT NULL AND tags <> '{{}}'::jsonb
  LIMIT %(limit)s
)
SELECT count(*),
       json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
         'type', 'Feature',
         'id', t || '/' || osm_id,
         'geometry', ST_AsGeoJSON(geom, 7)::json,
         'properties', json_build_object('osm_type', t, 'osm_id', osm_id, 'version', version,
                                         'category', cartoparty_category(tags), 'tags', tags)
       )), '[]'::json))::text
FROM capped
"""


def features_as_of(town: Town, at: dt.datetime, bbox: BBox, cap: int | None = None) -> str:
    """The town's map as it was published at ``at``, as a GeoJSON FeatureCollection string.

    Rebuilt from the decision log: an element changed by a review shows what the last change before
    ``at`` published, or what it was before its first later change (nothing if created later); the
    rest shows as published now. Side effects the log does not record per element (a way reshaped
    because one of its nodes moved) show as they are now. Raises TooManyFeatures past ``cap``.
    """
    cap = cap or settings.CARTOPARTY_MAX_FEATURES
    return capped_feature_collection(AS_OF_SQL, {"town": town.pk, "at": at}, bbox, cap)

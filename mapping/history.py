"""History of the published map: what a revision's feature is called, what became of a revision,
an element's timeline and the map as it was on a date. Every query starts from a town.

It stays in ``mapping`` (revisions are the store's history, and review, exports and the party map
all read it), while the review queue and decisions are the ``review`` app.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core.geo import SRID
from mapping.models import ReviewDecision, Revision
from mapping.selectors import BadRequest, BBox, capped_feature_collection
from parties import presets as preset_data
from parties.models import Town

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

Status = Revision.Status
Decision = ReviewDecision.Decision


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


def describe(rev: Revision) -> Revision:
    """Attach what a person recognises the feature by: its name ("Café Amann") and its preset's name in
    the reader's language ("Café", "Banc"), never the preset id (``amenity/bench``)."""
    tags = (rev.after or {}).get("tags") or (rev.before or {}).get("tags") or {}
    rev.feature_name = tags.get("name", "") if isinstance(tags, dict) else ""
    preset = rev.preset or (preset_data.match_preset(tags) if isinstance(tags, dict) else "")
    rev.preset_name = preset_data.preset_name(preset)
    rev.kind_name = rev.preset_name or preset_data.element_kind_name(rev.element_type)
    return rev


class Outcome(TypedDict):
    """What :func:`with_outcome` annotates: the last decision's canned reason, comment and kind."""

    reason_code: str | None
    reason_comment: str | None
    last_decision: str | None
    merged: bool


# A string: WithAnnotations takes its two arguments in type checking only.
RevisionWithOutcome: TypeAlias = "WithAnnotations[Revision, Outcome]"


def with_outcome(revisions: QuerySet[Revision]) -> QuerySet[RevisionWithOutcome]:
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


# --- History -----------------------------------------------------------------------------------


def element_history(
    town: Town, element_type: str, element_id: int, *, include_unpublished: bool
) -> list[Revision]:
    """The element's revisions, oldest first, each with its decisions (and who took them).

    The public sees what was published (accepted revisions); the town's agents see every proposal.
    A way's history includes the changes that inserted a junction point into it (``joined_here``).
    """
    match = Q(element_type=element_type, element_id=element_id)
    if element_type == "way":  # changes that inserted a junction point into it (payload ``joins``)
        match |= Q(after__contains={"joins": [{"way": element_id}]})
    qs = Revision.objects.filter(match, town=town)
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
        rev.joined_here = (rev.element_type, rev.element_id) != (element_type, element_id)
        rev.diff = [] if rev.joined_here else tag_diff(rev.before, published)
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

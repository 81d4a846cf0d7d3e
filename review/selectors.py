"""Read side of review: the queue with its filters and counts, diffs, a resident's contributions.
Every query starts from a town (or a user). History and the map as of a date are ``mapping.history``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from mapping.history import RevisionWithOutcome, with_outcome
from mapping.models import Revision
from mapping.quality import repaired_geometry
from parties.models import Town, User, public_name
from review.services import REASONS

Status = Revision.Status


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
        "joined": joined_ways(revision, after),
    }


def joined_ways(revision: Revision, after: dict | None) -> list[dict[str, Any]]:
    """The other ways this change inserts a junction point into (``joins``, see docs/editing.md):
    each as the change found it (``before``: its shape, for the map), with its name and the point."""
    out = []
    for join in (after or {}).get("joins") or []:
        before = join.get("before") or {}
        coords = [[n[1], n[2]] for n in before.get("nodes", [])]
        if before.get("closed") and coords:
            coords.append(coords[0])
        if revision.element_type == "node":
            junction = (after or {}).get("geometry", {}).get("coordinates", [None, None])[:2]
        else:
            junction = (after or {}).get("nodes", [])[join["vertex"]][1:]
        tags = before.get("tags") or {}
        out.append(
            {
                "id": join["way"],
                "base_version": join["base_version"],
                "name": tags.get("name") or tags.get("ref") or "",
                "highway": tags.get("highway", ""),
                "geometry": {"type": "LineString", "coordinates": coords} if len(coords) > 1 else None,
                "junction": junction,
            }
        )
    return out


# --- Contributions (what residents see) --------------------------------------------------------


def contributions_for(user: User) -> QuerySet[RevisionWithOutcome]:
    """The user's own revisions, newest first, with the last decision's canned reason and comment.

    ``reason_label`` (the canned reason, in the current language) and ``reason_comment`` (as the
    reviewer wrote it) come from the decision log; superseded proposals are included (status withdrawn).
    """
    if not user.is_authenticated:
        return with_outcome(Revision.objects.none())
    return with_outcome(Revision.objects.filter(author=user).select_related("party", "town")).order_by(
        "-created_at", "-pk"
    )


def reason_label(code: str | None) -> str:
    """The canned reason in the current language ("" for none)."""
    return str(REASONS[code]) if code in REASONS else ""

"""The live dashboard of a party: counts of the revisions its residents proposed, next to those
revisions. Scoped by the party, which the caller got from parties.selectors.party_for_agent (so from
the agent's own town).

It lives in mapping, not parties: it counts mapping's revisions, and parties imports no app but core
(docs/architecture.md). The dashboard page stays in parties; its status labels come from
mapping's ``revision_status_labels`` template tag and its data from mapping's stats API.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypedDict

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Count, Max, Q
from django.db.models.functions import Coalesce

from mapping.models import Revision
from parties import presets
from parties.models import Party, User

RECENT_EDITS_LIMIT = 200


def dashboard_version(party: Party) -> str:
    """A token that changes whenever the dashboard would: new edits, reviews, withdrawals, new residents.

    Two small aggregates, so an unchanged dashboard costs almost nothing to poll (ETag/304). Counts
    per status catch a withdrawal, which changes the status alone; reviewed_at catches a reviewer's
    amendment (same status counts, new geometry or preset).
    """
    per_status = {f"n_{value}": Count("id", filter=Q(status=value)) for value in Revision.Status.values}
    edits = Revision.objects.filter(party=party).aggregate(
        last=Max("created_at"), reviewed=Max("reviewed_at"), **per_status
    )
    residents = User.objects.filter(party=party).aggregate(n=Count("id"), last=Max("id"))
    raw = repr((party.pk, sorted(edits.items()), sorted(residents.items())))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Contributor(TypedDict):
    """One row of the dashboard's contributors table."""

    nickname: str
    edits: int
    date_joined: datetime


def contributors_for_party(party: Party) -> list[Contributor]:
    """The party's residents with how many edits each proposed, most active first."""
    return list(
        User.objects.filter(party=party, role=User.Role.RESIDENT)
        .annotate(edits=Count("revisions", filter=Q(revisions__party=party)))
        .order_by("-edits", "nickname")
        .values("nickname", "edits", "date_joined")
    )


def edits_by_status_for_party(party: Party) -> dict[str, int]:
    """Number of the party's edits in each review status (every status present, zero included)."""
    counts = dict.fromkeys(Revision.Status.values, 0)
    for row in Revision.objects.filter(party=party).values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def edits_by_preset_for_party(party: Party, language: str | None = None) -> list[dict[str, Any]]:
    """Number of the party's edits per preset ("" when none matched), most used first, with the
    preset's name in ``language``."""
    rows = (
        Revision.objects.filter(party=party)
        .values("preset")
        .annotate(count=Count("id"))
        .order_by("-count", "preset")
    )
    out = []
    for row in rows:
        # A set's preset or, for an edit of a feature no set offers (a clothes shop), the catalogue's.
        out.append(
            {
                "preset": row["preset"],
                "name": presets.preset_name(row["preset"], language),
                "count": row["count"],
            }
        )
    return out


def recent_edits_geojson_for_party(party: Party, limit: int = RECENT_EDITS_LIMIT) -> dict[str, Any]:
    """The party's latest edits as a GeoJSON FeatureCollection (geometry after the change, or before
    it for a deletion), serialised by PostGIS."""
    rows = (
        Revision.objects.filter(party=party)
        .annotate(geojson=AsGeoJSON(Coalesce("geom_after", "geom_before"), precision=7))
        .order_by("-created_at", "-id")
        .values("id", "action", "status", "preset", "created_at", "author__nickname", "geojson")[:limit]
    )
    features = [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": json.loads(row["geojson"]) if row["geojson"] else None,
            "properties": {
                "action": row["action"],
                "status": row["status"],
                "preset": row["preset"],
                "author": row["author__nickname"],
                "created_at": row["created_at"].isoformat(),
            },
        }
        for row in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def dashboard_stats_for_party(party: Party, version: str, language: str | None = None) -> dict[str, Any]:
    """Everything the live dashboard shows, in four queries."""
    by_status = edits_by_status_for_party(party)
    return {
        "party": party.pk,
        "version": version,
        "edits_total": sum(by_status.values()),
        "contributors": contributors_for_party(party),
        "by_status": by_status,
        "by_preset": edits_by_preset_for_party(party, language),
        "recent": recent_edits_geojson_for_party(party),
    }

"""Read-side queries, every one scoped by the requester's town (tenant isolation)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from parties.models import Party, User


def parties_for_user(user: Any) -> QuerySet[Party]:
    """The parties ``user`` may see: their town's for an agent, their own for a resident, else none."""
    qs = Party.objects.select_related("town")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if user.role == User.Role.AGENT and user.town_id is not None:
        return qs.filter(town_id=user.town_id)
    if user.role == User.Role.RESIDENT and user.party_id is not None:
        return qs.filter(pk=user.party_id)
    return qs.none()


def party_for_agent(user: Any, party_id: int) -> Party:
    """The party ``party_id`` of the agent's own town; Http404 for any other (never reveals it exists)."""
    if not (user.is_authenticated and user.role == User.Role.AGENT and user.town_id is not None):
        raise Http404
    try:
        return Party.objects.select_related("town").get(pk=party_id, town_id=user.town_id)
    except Party.DoesNotExist as exc:
        raise Http404 from exc

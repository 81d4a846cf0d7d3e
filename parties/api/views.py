"""Read-only API for the parties of the requester's town (agents only). Their live statistics count
revisions, so mapping serves them (mapping.api.views.PartyStats)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from parties import permissions, selectors
from parties.api.serializers import PartyDetailSerializer, PartySerializer
from parties.models import Party

PARTY_ID = OpenApiParameter("party_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class IsAgent(BasePermission):
    """Town agents only (residents and anonymous visitors get 403)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return permissions.is_agent(request.user)


@extend_schema(
    summary="Parties of my town",
    description="The parties of the requesting agent's town, latest first. Agents only.",
)
class PartyList(generics.ListAPIView):
    serializer_class = PartySerializer
    permission_classes = [IsAgent]

    def get_queryset(self) -> QuerySet[Party]:
        return selectors.parties_for_user(self.request.user).order_by("-starts_at", "-id")


@extend_schema(
    summary="One party of my town",
    description="A party with its area (GeoJSON). Another town's party is a 404.",
    parameters=[PARTY_ID],
)
class PartyDetail(generics.RetrieveAPIView):
    serializer_class = PartyDetailSerializer
    permission_classes = [IsAgent]

    def get_object(self) -> Party:
        return selectors.party_for_agent(self.request.user, self.kwargs["party_id"])

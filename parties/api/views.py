"""Read-only API for the parties of the requester's town (agents only) and their live statistics."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from parties import permissions, selectors
from parties.api.serializers import DashboardStatsSerializer, PartyDetailSerializer, PartySerializer
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


class PartyStats(APIView):
    """The live dashboard's data; poll it with If-None-Match: an unchanged party answers 304."""

    permission_classes = [IsAgent]

    @extend_schema(
        summary="Live statistics of a party",
        description=(
            "Contributors, edits by status and by preset, and the latest edits as GeoJSON. The ETag "
            "changes when an edit is proposed or reviewed or a resident joins; send it back in "
            "If-None-Match to get 304 Not Modified while nothing changed."
        ),
        parameters=[
            PARTY_ID,
            OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        responses={200: DashboardStatsSerializer, 304: OpenApiResponse(description="Not modified")},
    )
    def get(self, request: Request, party_id: int) -> Response:
        party = selectors.party_for_agent(request.user, party_id)
        language = get_language()
        version = f"{selectors.dashboard_version(party)}-{language}"
        etag = quote_etag(version)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie, Accept-Language"}
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        data = selectors.dashboard_stats_for_party(party, version, language)
        return Response(DashboardStatsSerializer(data).data, headers=headers)

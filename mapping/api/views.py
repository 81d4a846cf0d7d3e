"""Thin API views for the resident mapping page: parse, call one service or selector, answer.

Every lookup starts from the parties the requester may see (parties.selectors.parties_for_user):
another town's party, or another party for a resident, is a 404; anonymous requests are 403.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mapping import dashboard, junctions, photos, services, store
from mapping.api.serializers import (
    ConflictSerializer,
    DashboardStatsSerializer,
    EditSerializer,
    ElementSerializer,
    ErrorSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    RevisionSerializer,
)
from mapping.geometry import is_area
from mapping.history import with_outcome
from mapping.models import Revision
from mapping.payloads import Action, ChangeRequest, ElementType
from mapping.selectors import (
    BBox,
    features_geojson_for_town,
    parse_zoom,
    pending_features_geojson_for_author,
)
from parties import presets
from parties.access import signed_in
from parties.api.views import IsAgent
from parties.models import Party
from parties.selectors import parties_for_user, party_for_agent

PARTY_ID = OpenApiParameter("party_id", OpenApiTypes.INT, OpenApiParameter.PATH)


def party_for(request: Request, party_id: int) -> Party:
    """The party, if the requester may see it (its residents, its town's agents)."""
    party = parties_for_user(signed_in(request)).filter(pk=party_id).first()  # anonymous: 403
    if party is None:
        raise NotFound(_("No such party."))
    return party


class PartyFeatures(APIView):
    @extend_schema(
        summary="Map data of a party",
        description=(
            "Published features in ?bbox=w,s,e,n (GeoJSON, as the town's bbox endpoint) plus the "
            "requester's own pending revisions there, as {published: FeatureCollection, pending: "
            "FeatureCollection}. With ?layers=pending only the pending ones: the mapping page reads "
            "published data as the town's shared, cached tiles (/api/towns/<slug>/features/tiles/z/x/y) "
            "and asks here only for its pending layer, over the party area."
        ),
        parameters=[
            PARTY_ID,
            OpenApiParameter("bbox", OpenApiTypes.STR, required=True, description="west,south,east,north"),
            OpenApiParameter("zoom", OpenApiTypes.INT),
            OpenApiParameter("layers", OpenApiTypes.STR, enum=["published,pending", "pending"]),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, party_id: int) -> HttpResponse:
        party = party_for(request, party_id)
        only_pending = request.query_params.get("layers") == "pending"
        bbox = BBox.parse(request.query_params.get("bbox"))  # BadRequest: 400 (core.http)
        zoom = parse_zoom(request.query_params.get("zoom"))
        published = None if only_pending else features_geojson_for_town(party.town, bbox, zoom)
        pending = pending_features_geojson_for_author(request.user, party, bbox)
        body = (
            f'{{"pending":{pending}}}' if only_pending else f'{{"published":{published},"pending":{pending}}}'
        )
        return HttpResponse(body, content_type="application/json")


class PartyEdits(APIView):
    @extend_schema(
        summary="Propose a change",
        description=(
            "Stores a pending revision (the published map does not change until review). 400 answers "
            "{field: [messages]} (fields: tags.<key>, geometry, party...); 409 the current version and "
            "state, with the three tag versions when the same keys changed; 429 sets Retry-After."
        ),
        parameters=[PARTY_ID],
        request=EditSerializer,
        responses={
            201: RevisionSerializer,
            200: OpenApiResponse(
                RevisionSerializer, description="Same idempotency key: the revision saved before."
            ),
            400: OpenApiTypes.OBJECT,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ConflictSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        serializer = EditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        change: ChangeRequest = {
            "element_type": ElementType(data["element_type"]),  # a choice the serializer checked
            "element_id": data.get("element_id"),
            "action": Action(data["action"]),
            "after": data.get("after"),
            "base_version": data.get("base_version"),
            "preset": data.get("preset", ""),
            "idempotency_key": data.get("idempotency_key") or request.headers.get("Idempotency-Key") or None,
        }
        # 403, 400 (issues by field), 429 (Retry-After) and 409 (current version, tag choice) answer
        # through core.http.api_exception_handler.
        result = services.submit_edit(author=signed_in(request), party=party, **change)
        return Response(
            RevisionSerializer(result.revision).data,
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )


class EditPhotos(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Attach a photo to my edit",
        description=(
            "multipart/form-data: `photo` (the image, JPEG/PNG/WebP by content, at most "
            "CARTOPARTY_PHOTO_MAX_BYTES and CARTOPARTY_PHOTO_MAX_PIXELS), `key` (the photo's own UUID "
            "idempotency key) and optionally `licence`. `edit_key` is the idempotency key the edit was "
            "saved with. 201 the photo's addresses; 200 the same on a replay of `key` (nothing stored "
            "twice); 400 a refused photo; 404 no edit of the requester has that key; 403 not the "
            "author or the party is closed; 413 a body over the photo limit."
        ),
        parameters=[PARTY_ID, OpenApiParameter("edit_key", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={
            201: PhotoSerializer,
            200: OpenApiResponse(PhotoSerializer, description="Same key: the photo stored before."),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            413: ErrorSerializer,
        },
    )
    def post(self, request: Request, party_id: int, edit_key: str) -> Response:
        party = party_for(request, party_id)
        upload = request.FILES.get("photo")
        result = photos.attach_photo(
            author=signed_in(request),
            party=party,
            edit_key=edit_key,
            key=str(request.POST.get("key") or ""),
            upload=upload,
            size=upload.size if upload is not None and upload.size is not None else 0,
            licence=str(request.POST.get("licence") or ""),
        )
        return Response(
            PhotoSerializer(result.photo).data,
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )


class CheckEdit(APIView):
    @extend_schema(
        summary="Warnings before saving (connected geometry)",
        description=(
            "iD's connectivity warnings for a change about to be saved, against the published ways: "
            "a road or path connected to nothing, crossing another without a junction, ending a few "
            "metres short of one. Each warning may carry a fix: {label, after}, the corrected payload "
            "(new vertices and joins) to send instead. Saves nothing. 400 as for an edit."
        ),
        parameters=[PARTY_ID],
        request=EditSerializer,
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        serializer = EditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["action"] == Action.DELETE:
            return Response({"warnings": []})
        warnings = junctions.check_payload(
            party.town_id, data["element_type"], data.get("after"), data.get("element_id")
        )
        return Response({"warnings": warnings})


class SnapWays(APIView):
    @extend_schema(
        summary="Ways to snap to while drawing",
        description=(
            "The visible lines and outlines crossing ?bbox=w,s,e,n (at most about 2 km wide), each "
            "with its version and nodes [[id, lon, lat], ...]: the page snaps a vertex to a node (its "
            "id is reused) or onto a segment (a join: that way gets a new node)."
        ),
        parameters=[PARTY_ID, OpenApiParameter("bbox", OpenApiTypes.STR, required=True)],
        responses={
            200: OpenApiTypes.OBJECT,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        bbox = BBox.parse(request.query_params.get("bbox"))
        return Response({"ways": junctions.ways_near(party.town_id, bbox)})


class UndoLastEdit(APIView):
    @extend_schema(
        summary="Undo my last change",
        description="Withdraws the requester's latest pending revision (its status becomes withdrawn).",
        parameters=[PARTY_ID],
        request=None,
        responses={200: RevisionSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        author = signed_in(request)
        services.check_can_edit(author, party)
        revision = services.undo_last_edit(author)
        if revision is None:
            raise NotFound(_("Nothing to undo: you have no pending change."))
        return Response(RevisionSerializer(revision).data)


class MyContributions(APIView):
    @extend_schema(
        summary="My contributions",
        description="The requester's revisions in this party, newest first, with status and reviewer's reason.",
        parameters=[PARTY_ID],
        responses={200: RevisionSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        revisions = with_outcome(Revision.objects.filter(party=party, author=signed_in(request))).order_by(
            "-created_at", "-pk"
        )[:500]
        return Response(RevisionSerializer(revisions, many=True).data)


class ElementDetail(APIView):
    @extend_schema(
        summary="One published element",
        description="Current tags and version (and a way's node ids with their locations) to start an edit from.",
        parameters=[
            PARTY_ID,
            OpenApiParameter(
                "element_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=[t.value for t in ElementType]
            ),
            OpenApiParameter("element_id", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={200: ElementSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, party_id: str, element_type: str, element_id: str) -> Response:
        party = party_for(request, int(party_id))
        element = store.get_element(party.town, element_type, int(element_id))
        if element is None or not element.visible:
            raise NotFound(_("This feature no longer exists."))
        state = store.element_state(element)
        if element_type == ElementType.NODE:
            kind = "point"
        elif element_type == ElementType.WAY and not state.get("closed"):
            kind = "line"
        else:
            kind = "area" if element_type == ElementType.RELATION or is_area(state["tags"]) else "line"
        detail = presets.describe(state["tags"], kind, get_language(), party.preset_set)
        body = {
            "geometry": None,
            **state,
            "element_type": element_type,
            "element_id": int(element_id),
            "preset": detail["id"] if detail else "",
            "preset_detail": detail,
        }
        return Response(ElementSerializer(body).data)


class PartyPresets(APIView):
    @extend_schema(
        summary="The party's presets",
        description="The preset set the agent chose, in the requester's language (groups, presets, fields).",
        parameters=[PARTY_ID],
        responses={200: OpenApiTypes.OBJECT, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, party_id: int) -> Response:
        party = party_for(request, party_id)
        response = Response(presets.presets_for(party.preset_set, get_language()))
        response["Cache-Control"] = "private, max-age=300"
        return response


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
        party = party_for_agent(request.user, party_id)
        language = get_language()
        version = f"{dashboard.dashboard_version(party)}-{language}"
        etag = quote_etag(version)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie, Accept-Language"}
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        data = dashboard.dashboard_stats_for_party(party, version, language)
        return Response(DashboardStatsSerializer(data).data, headers=headers)

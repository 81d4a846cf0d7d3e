"""Review API for agents (and a resident's contributions across parties): thin views over review.services.

Every lookup starts from :func:`review.services.revisions_for_reviewer`: another town's revision, or
any revision for a non-agent, is a 404. A decision that lost a race answers 409 with the reason (service errors answer through
:func:`core.http.api_exception_handler`).
Included from review/urls.py under /api/review/.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mapping.api.serializers import PhotoSerializer
from mapping.history import outcome_label, tag_diff
from mapping.models import Revision
from mapping.services import SIDES
from parties.access import AuthenticatedRequest, agent_town
from parties.permissions import is_agent
from review import services as review
from review.selectors import (
    QueueFilters,
    contributions_for,
    queue_counts,
    queue_for_town,
    reason_label,
    vertex_diff,
)
from review.views import localized_flags

PAGE_SIZE = 100


class ReviewRevisionSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.display_name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    flags = serializers.SerializerMethodField()

    class Meta:
        model = Revision
        fields = [
            "id",
            "party",
            "author",
            "author_name",
            "element_type",
            "element_id",
            "action",
            "base_version",
            "preset",
            "status",
            "status_label",
            "review_reason",
            "flags",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields

    def get_flags(self, obj: Revision) -> list[dict]:
        return localized_flags(obj.flags)


class ReviewRevisionDetailSerializer(ReviewRevisionSerializer):
    tag_diff = serializers.SerializerMethodField()
    vertices = serializers.SerializerMethodField()
    outdated = serializers.SerializerMethodField(
        help_text=(
            "null, or the version published since this edit: whether accepting merges cleanly ('clean'), "
            "the conflicting keys with their base / theirs / mine values, 'geometry', 'deletion', 'gone'"
        )
    )
    photos = PhotoSerializer(many=True, read_only=True, help_text="Photos the contributor attached.")

    class Meta(ReviewRevisionSerializer.Meta):
        fields = [
            *ReviewRevisionSerializer.Meta.fields,
            "before",
            "after",
            "tag_diff",
            "vertices",
            "outdated",
            "photos",
        ]
        read_only_fields = fields

    def get_outdated(self, obj: Revision) -> dict | None:
        state = review.outdated(obj)
        return state.as_dict() if state else None

    def get_tag_diff(self, obj: Revision) -> list[dict]:
        return tag_diff(obj.before, obj.after)

    def get_vertices(self, obj: Revision) -> list[dict]:
        return vertex_diff(obj.element_type, obj.before, obj.after)


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    reason_code = serializers.ChoiceField(
        choices=[("", "")] + [(k, k) for k in review.REASONS], required=False, default=""
    )
    after = serializers.JSONField(required=False, help_text="fix: the amended payload (mapping.store format)")
    choices = serializers.JSONField(
        required=False,
        default=None,
        help_text=(
            'accept / fix of an edit that conflicts with a newer version: {"tags": {key: "base" | "theirs" '
            '| "mine"}, "geometry": "theirs" | "mine"} (for a deletion, "geometry": "mine" deletes anyway)'
        ),
    )

    def validate_choices(self, value: Any) -> dict | None:
        if value is None:
            return None
        tags = value.get("tags", {}) if isinstance(value, dict) else None
        if (
            not isinstance(tags, dict)
            or any(not isinstance(k, str) or v not in SIDES for k, v in tags.items())
            or value.get("geometry") not in (None, "theirs", "mine")
        ):
            raise serializers.ValidationError(
                _('Choices are {"tags": {key: "base", "theirs" or "mine"}, "geometry": "theirs" or "mine"}.')
            )
        return value


class BulkSerializer(DecisionSerializer):
    action = serializers.ChoiceField(choices=["accept", "reject"])
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=20000)
    author = serializers.IntegerField(required=False)
    party = serializers.IntegerField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if sum(k in attrs for k in ("ids", "author", "party")) != 1:
            raise serializers.ValidationError(_("Choose exactly one of ids, author or party."))
        return attrs


class ContributionSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    outcome = serializers.SerializerMethodField(
        help_text="What became of it, in the requester's language (accepted, merged, fixed, rejected...)"
    )
    reason_label = serializers.SerializerMethodField()
    reason_comment = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Revision
        fields = [
            "id",
            "party",
            "element_type",
            "element_id",
            "action",
            "status",
            "status_label",
            "outcome",
            "reason_label",
            "reason_comment",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields

    def get_outcome(self, obj: Revision) -> str:
        return outcome_label(obj)

    def get_reason_label(self, obj: Revision) -> str:
        return reason_label(getattr(obj, "reason_code", None))


def _revision(request: AuthenticatedRequest, pk: int) -> Revision:
    rev = review.revisions_for_reviewer(request.user).select_related("author", "town").filter(pk=pk).first()
    if rev is None:
        raise NotFound(_("No such revision."))
    return rev


class QueueAPI(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Review queue",
        operation_id="review_queue",
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR)
            for name in ("status", "party", "author", "preset", "flag", "page")
        ],
        responses={
            200: inline_serializer(
                "ReviewQueuePage",
                {
                    "count": serializers.IntegerField(),
                    "counts": serializers.DictField(
                        help_text="Counts by status, party, author, preset, flag"
                    ),
                    "results": ReviewRevisionSerializer(many=True),
                },
            )
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        if not is_agent(request.user):
            raise NotFound(_("The review queue is for the town's agents."))
        filters = QueueFilters.from_query(request.query_params)
        town = agent_town(request)
        qs = queue_for_town(town, filters)
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        count = qs.count()
        # Past the last page: no rows, and no OFFSET (a huge ?page= would overflow PostgreSQL's bigint).
        rows = qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE] if (page - 1) * PAGE_SIZE < count else []
        return Response(
            {
                "count": count,
                "counts": queue_counts(town, filters),
                "results": ReviewRevisionSerializer(rows, many=True).data,
            }
        )


class RevisionAPI(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="One revision to review", responses={200: ReviewRevisionDetailSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(ReviewRevisionDetailSerializer(_revision(request, pk)).data)


class DecideAPI(APIView):
    """POST accept | reject | request-changes | fix | revert."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Decide on a revision",
        request=DecisionSerializer,
        responses={200: ReviewRevisionSerializer, 400: None, 403: None, 404: None, 409: None},
    )
    def post(self, request: AuthenticatedRequest, pk: int, action: str) -> Response:
        rev = _revision(request, pk)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason, code = data.validated_data["reason"], data.validated_data["reason_code"]
        choices = data.validated_data["choices"]
        user = request.user
        # Service errors (409 with the three-way choice, 403, 400) answer through core.http.
        if action == "accept":
            review.accept_revision(rev, user, choices)
        elif action == "reject":
            review.reject_revision(rev, user, reason, code)
        elif action == "request-changes":
            review.request_changes(rev, user, reason, code)
        elif action == "fix":
            if "after" not in data.validated_data:
                raise review.ReviewError(_("Send the amended payload as 'after'."))
            review.fix_and_accept(rev, user, data.validated_data["after"], choices)
        elif action == "revert":
            rev = review.revert_revision(rev, user, reason)
        else:
            raise NotFound(_("Unknown action."))
        rev.refresh_from_db()
        return Response(ReviewRevisionSerializer(rev).data)


class AmendSerializer(serializers.Serializer):
    after = serializers.JSONField(help_text="The amended payload (mapping.store format)")


class AmendAPI(APIView):
    """The author answers a request for changes with a new version (a new pending revision)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Amend my contribution",
        request=AmendSerializer,
        responses={201: ContributionSerializer, 400: None, 404: None, 409: None},
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        rev = Revision.objects.filter(author=request.user, pk=pk).first()
        if rev is None:
            raise NotFound(_("No such revision."))
        data = AmendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = review.amend_revision(rev, request.user, data.validated_data["after"])
        return Response(ContributionSerializer(new).data, status=status.HTTP_201_CREATED)


class BulkAPI(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Bulk accept or reject", request=BulkSerializer, responses={200: None})
    def post(self, request: AuthenticatedRequest) -> Response:
        if not is_agent(request.user):
            raise NotFound(_("The review queue is for the town's agents."))
        data = BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        selection = {k: v[k] for k in ("ids", "author", "party") if k in v}
        town = agent_town(request)
        if v["action"] == "accept":
            result = review.bulk_accept(town, request.user, **selection)
        else:
            result = review.bulk_reject(
                town, request.user, v["reason"], reason_code=v["reason_code"], **selection
            )
        body = result.as_dict()
        body["conflict_urls"] = {
            str(pk): reverse("review:review-revision", args=[pk]) for pk in result.conflicts
        }
        return Response(body)


class ContributionsAPI(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="My contributions (every party)",
        description="Status and the reviewer's reason, in the requester's language.",
        responses={200: ContributionSerializer(many=True)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ContributionSerializer(contributions_for(request.user)[:500], many=True).data)


urlpatterns = [
    path("revisions/", QueueAPI.as_view(), name="review-api-queue"),
    path("revisions/<int:pk>/", RevisionAPI.as_view(), name="review-api-revision"),
    path("revisions/<int:pk>/amend/", AmendAPI.as_view(), name="review-api-amend"),
    path("revisions/<int:pk>/<str:action>/", DecideAPI.as_view(), name="review-api-decide"),
    path("bulk/", BulkAPI.as_view(), name="review-api-bulk"),
    path("my-contributions/", ContributionsAPI.as_view(), name="review-api-contributions"),
]

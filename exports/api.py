"""Open-data API: the same downloads, export jobs and changelog as the page (public, read-mostly)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exports.formats import FORMATS
from exports.jobs import fail_if_lost
from exports.models import Job
from exports.selectors import Scope, changelog_for_town
from exports.services import download_url, downloads_for_town, request_export
from parties.models import Party, Town


class ExportFileSerializer(serializers.Serializer):
    format = serializers.CharField()
    media_type = serializers.CharField()
    url = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "status", "progress", "message", "created_at", "finished_at"]


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(FORMATS))
    party = serializers.IntegerField(required=False)


class ChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    element_type = serializers.CharField()
    element_id = serializers.IntegerField()
    reviewed_at = serializers.DateTimeField()
    author = serializers.SerializerMethodField()

    def get_author(self, obj) -> str:
        return obj.author.display_name


class TownExports(APIView):
    """The whole-town downloads (stable URLs; the file is built on first request)."""

    @extend_schema(responses=ExportFileSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        town = get_object_or_404(Town, slug=slug)
        rows = [{**row, "url": request.build_absolute_uri(row["url"])} for row in downloads_for_town(town)]
        return Response(ExportFileSerializer(rows, many=True).data)


class ExportJobs(APIView):
    """Ask for an export: 200 with its URL when ready, 202 with a job to poll otherwise."""

    @extend_schema(request=ExportRequestSerializer, responses={200: ExportFileSerializer, 202: JobSerializer})
    def post(self, request: Request, slug: str) -> Response:
        town = get_object_or_404(Town, slug=slug)
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        party_id = data.validated_data.get("party")
        if party_id is not None:
            get_object_or_404(Party, town=town, pk=party_id)
        scope = Scope(party_id=party_id)
        fmt = data.validated_data["format"]
        path, job = request_export(town, fmt, scope, request.user)
        if job is not None:
            return Response(JobSerializer(job).data, status=202)
        assert path is not None  # request_export answers (path, None) or (None, job)
        url = download_url(town, fmt, scope)
        row = {
            "format": fmt,
            "media_type": FORMATS[fmt].media_type,
            "url": request.build_absolute_uri(url),
            "size": path.stat().st_size,
        }
        return Response(ExportFileSerializer(row).data)


class ExportJobDetail(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request: Request, slug: str, job_id: int) -> Response:
        town = get_object_or_404(Town, slug=slug)
        job = fail_if_lost(get_object_or_404(Job, town=town, pk=job_id, kind=Job.Kind.EXPORT))
        return Response(JobSerializer(job).data)


class ChangesPagination(PageNumberPagination):
    page_size = 50


class TownChanges(ListAPIView):
    """Published changes (accepted revisions), newest first."""

    serializer_class = ChangeSerializer
    pagination_class = ChangesPagination

    def get_queryset(self):
        return changelog_for_town(get_object_or_404(Town, slug=self.kwargs["slug"]))

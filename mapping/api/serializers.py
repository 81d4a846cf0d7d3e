"""API serializers: explicit fields; the change payload format is documented in mapping.payloads."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mapping.history import outcome_label
from mapping.models import ElementType, Photo, Revision


class EditSerializer(serializers.Serializer):
    """A proposed change. ``after`` is a mapping.payloads.Payload (tags may be [key, value] pairs)."""

    element_type = serializers.ChoiceField(choices=ElementType.choices)
    element_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="Omitted for a creation."
    )
    action = serializers.ChoiceField(choices=Revision.Action.choices)
    after = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='node: {"tags", "geometry": Point}; way: {"tags", "nodes": [[id|null, lon, lat]], "closed"}',
    )
    base_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="The version the change started from."
    )
    preset = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    idempotency_key = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="A fresh UUID per change; resending it returns the same revision instead of a duplicate.",
    )


class RevisionSerializer(serializers.Serializer):
    """A resident's revision, with its review status and the reviewer's reason when there is one.

    Declared fields (not a ModelSerializer): this answers every save, and building a ModelSerializer's
    fields from the model on each call cost more than the rest of the answer.
    """

    id = serializers.IntegerField(read_only=True)
    element_type = serializers.CharField(read_only=True)
    element_id = serializers.IntegerField(read_only=True)
    action = serializers.CharField(read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    status = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    outcome = serializers.SerializerMethodField(
        help_text="What became of it, in the requester's language (accepted, merged, fixed, rejected...)"
    )
    base_version = serializers.IntegerField(read_only=True, allow_null=True)
    after = serializers.JSONField(read_only=True, allow_null=True)
    preset = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    review_reason = serializers.CharField(read_only=True)
    flags = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(serializers.CharField())
    def get_outcome(self, obj: Revision) -> str:
        return outcome_label(obj)

    @extend_schema_field(serializers.CharField())
    def get_name(self, obj: Revision) -> str:
        state = obj.after or obj.before or {}
        return (state.get("tags") or {}).get("name", "")


class ElementSerializer(serializers.Serializer):
    """The current published state of one element (see mapping.store.element_state)."""

    element_type = serializers.CharField()
    element_id = serializers.IntegerField()
    version = serializers.IntegerField()
    tags = serializers.DictField(child=serializers.CharField())
    geometry = serializers.JSONField(allow_null=True)
    nodes = serializers.ListField(child=serializers.ListField(), required=False)
    closed = serializers.BooleanField(required=False)
    members = serializers.ListField(child=serializers.DictField(), required=False)
    preset = serializers.CharField(allow_blank=True)
    preset_detail = serializers.JSONField(
        allow_null=True,
        help_text="parties.presets.describe: the preset's name and fields in the reader's language.",
    )


class ConflictSerializer(serializers.Serializer):
    """409: the element changed. ``tags`` is present when the same keys changed on both sides."""

    detail = serializers.CharField()
    current_version = serializers.IntegerField(allow_null=True)
    current = serializers.JSONField(allow_null=True)
    tags = serializers.DictField(required=False, help_text='{"keys": [...], "base", "mine", "theirs"}')


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ContributorSerializer(serializers.Serializer):
    nickname = serializers.CharField()
    edits = serializers.IntegerField(help_text="Edits this resident proposed at the party.")
    date_joined = serializers.DateTimeField()


class PresetCountSerializer(serializers.Serializer):
    preset = serializers.CharField(help_text='Preset id, e.g. "amenity/bench"; empty when none matched.')
    name = serializers.CharField(help_text="The preset's name in the request's language.")
    count = serializers.IntegerField()


class StatusCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    needs_changes = serializers.IntegerField()
    withdrawn = serializers.IntegerField()


class RecentEditsSerializer(serializers.Serializer):
    """GeoJSON FeatureCollection; each feature's properties: action, status, preset, author, created_at."""

    type = serializers.CharField()
    features = serializers.ListField(child=serializers.DictField())


class DashboardStatsSerializer(serializers.Serializer):
    """What the live dashboard shows; ``version`` is also the response's ETag."""

    party = serializers.IntegerField()
    version = serializers.CharField()
    edits_total = serializers.IntegerField()
    contributors = ContributorSerializer(many=True)
    by_status = StatusCountsSerializer()
    by_preset = PresetCountSerializer(many=True)
    recent = RecentEditsSerializer()


class PhotoSerializer(serializers.Serializer):
    """A stored photo: its id and the addresses of its two sizes (served to whoever may see it)."""

    id = serializers.IntegerField(read_only=True)
    thumbnail = serializers.SerializerMethodField()
    display = serializers.SerializerMethodField()

    def get_thumbnail(self, obj: Photo) -> str:
        return reverse("mapping:photo", kwargs={"photo_id": obj.pk, "size": "thumb"})

    def get_display(self, obj: Photo) -> str:
        return reverse("mapping:photo", kwargs={"photo_id": obj.pk, "size": "display"})


class PhotoUploadSerializer(serializers.Serializer):
    """The multipart form of a photo upload (documentation only: the view reads the form itself)."""

    photo = serializers.FileField(help_text="The image (JPEG, PNG or WebP, checked by content).")
    key = serializers.UUIDField(help_text="The photo's own idempotency key.")
    licence = serializers.ChoiceField(
        choices=["", "CC-BY-SA-4.0", "CC0-1.0"],
        required=False,
        help_text="An open licence the resident accepted for the open-data page (default: none).",
    )

"""API representations of parties and their live statistics (explicit fields, read-only)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from parties.models import Party, Town
from parties.poster import join_url


class PartySerializer(serializers.ModelSerializer):
    """A party as its town's agents see it."""

    town: serializers.SlugRelatedField[Town] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    phase = serializers.ChoiceField(choices=["upcoming", "running", "ended"], read_only=True)
    join_url = serializers.SerializerMethodField()
    dashboard_url = serializers.SerializerMethodField()
    stats_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()

    class Meta:
        model = Party
        fields = [
            "id",
            "town",
            "title_fr",
            "title_en",
            "description_fr",
            "description_en",
            "starts_at",
            "ends_at",
            "phase",
            "preset_set",
            "hashtag",
            "rate_limit_per_minute",
            "gps_accuracy_m",
            "join_url",
            "dashboard_url",
            "stats_url",
            "poster_url",
        ]
        read_only_fields = fields

    def get_join_url(self, party: Party) -> str:
        return join_url(party)

    def get_dashboard_url(self, party: Party) -> str:
        return reverse("parties:dashboard", kwargs={"party_id": party.pk})

    def get_stats_url(self, party: Party) -> str:
        return reverse("mapping-api:party-stats", kwargs={"party_id": party.pk})

    def get_poster_url(self, party: Party) -> str:
        return reverse("parties:poster", kwargs={"party_id": party.pk})


class PartyDetailSerializer(PartySerializer):
    """A party with its area (GeoJSON polygon, WGS84)."""

    area = GeometryField(read_only=True)

    class Meta(PartySerializer.Meta):
        fields = [*PartySerializer.Meta.fields, "area"]
        read_only_fields = fields

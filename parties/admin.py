"""Admin screens for platform staff: towns (boundary on a map), parties and people.

The admin writes models directly; agents use the parties pages, whose rules live in parties.services.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from parties.models import Party, Town, User


@admin.register(Town)
class TownAdmin(LeafletGeoAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]


@admin.register(Party)
class PartyAdmin(LeafletGeoAdmin):
    list_display = ["__str__", "town", "starts_at", "ends_at", "preset_set", "hashtag"]
    list_filter = ["town"]
    list_select_related = ["town"]
    search_fields = ["title_fr", "title_en", "hashtag", "join_code"]
    date_hierarchy = "starts_at"
    readonly_fields = ["join_code", "created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["town", "title_fr", "title_en", "description_fr", "description_en"]}),
        (_("When and where"), {"fields": ["starts_at", "ends_at", "area"]}),
        (_("Mapping"), {"fields": ["preset_set", "hashtag", "rate_limit_per_minute", "gps_accuracy_m"]}),
        (_("Record"), {"fields": ["join_code", "created_by", "created_at"]}),
    ]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "nickname", "role", "town", "party", "is_active", "last_login"]
    list_filter = ["role", "town", "is_active", "is_staff"]
    list_select_related = ["town", "party"]
    search_fields = ["username", "nickname", "email"]
    raw_id_fields = ["party"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),  # Django's own (typed as optional)
        (_("Cartoparty"), {"fields": ["role", "town", "party", "nickname", "licence_consent_at"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("Cartoparty"), {"fields": ["role", "town"]}),
    ]

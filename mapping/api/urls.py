from django.urls import path, re_path

from mapping.api import views

app_name = "mapping-api"
urlpatterns = [
    path("parties/<int:party_id>/features/", views.PartyFeatures.as_view(), name="party-features"),
    path("parties/<int:party_id>/edits/", views.PartyEdits.as_view(), name="party-edits"),
    path("parties/<int:party_id>/edits/check/", views.CheckEdit.as_view(), name="party-edit-check"),
    path("parties/<int:party_id>/snap/", views.SnapWays.as_view(), name="party-snap"),
    path("parties/<int:party_id>/edits/undo/", views.UndoLastEdit.as_view(), name="party-undo"),
    path(
        "parties/<int:party_id>/edits/<str:edit_key>/photos/",
        views.EditPhotos.as_view(),
        name="party-edit-photos",
    ),
    path(
        "parties/<int:party_id>/contributions/", views.MyContributions.as_view(), name="party-contributions"
    ),
    path("parties/<int:party_id>/stats/", views.PartyStats.as_view(), name="party-stats"),
    path("parties/<int:party_id>/presets/", views.PartyPresets.as_view(), name="party-presets"),
    re_path(
        r"^parties/(?P<party_id>[0-9]+)/elements/(?P<element_type>node|way|relation)/(?P<element_id>-?[0-9]+)/$",
        views.ElementDetail.as_view(),
        name="party-element",
    ),
]

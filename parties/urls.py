from django.urls import path

from parties import offline_views, views

app_name = "parties"
urlpatterns = [
    path("join/<str:join_code>/", views.join, name="join"),
    path("parties/<int:party_id>/map/", views.party_map, name="map"),
    path("parties/offline-sw.js", offline_views.service_worker, name="service-worker"),
    path("parties/<int:party_id>/manifest.webmanifest", offline_views.manifest, name="manifest"),
    path("manage/", views.manage, name="manage"),
    path("manage/parties/new/", views.party_create, name="party-create"),
    path("manage/parties/<int:party_id>/", views.dashboard, name="dashboard"),
    path("manage/parties/<int:party_id>/edit/", views.party_edit, name="party-edit"),
    path("manage/parties/<int:party_id>/qr.<str:kind>", views.party_qr, name="qr"),
    path("manage/parties/<int:party_id>/poster.pdf", views.party_poster, name="poster"),
]

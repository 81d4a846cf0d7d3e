"""URLs of base tiles and printed maps (included from config/urls.py)."""

from django.urls import path, re_path

from exports import print_views

app_name = "printing"
urlpatterns = [
    re_path(
        r"^tiles/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/@]+?)(?P<retina>@2x)?\.png$",
        print_views.tile,
        name="tile",
    ),
    path("manage/prints/", print_views.print_orders, name="orders"),
    path("manage/prints/jobs/<int:pk>/status", print_views.print_job_status, name="job-status"),
    path("manage/prints/jobs/<int:pk>/retry", print_views.print_job_retry, name="job-retry"),
    path("manage/prints/editions/<int:pk>/download", print_views.edition_download, name="edition-download"),
    path("manage/prints/editions/<int:pk>/preview.png", print_views.edition_preview, name="edition-preview"),
]

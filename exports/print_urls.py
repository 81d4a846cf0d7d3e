"""URLs of base tiles and printed maps (included from config/urls.py)."""

from django.urls import re_path

from exports import print_views

app_name = "printing"
urlpatterns = [
    re_path(
        r"^tiles/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/@]+?)(?P<retina>@2x)?\.png$",
        print_views.tile,
        name="tile",
    ),
]

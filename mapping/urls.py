from django.urls import path, re_path

from mapping import views

app_name = "mapping"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("towns/<slug:slug>/", views.town_map, name="town-map"),
    path("api/towns/<slug:slug>/features", views.town_features, name="town-features"),
    path(
        "api/towns/<slug:slug>/features/tiles/<str:z>/<str:x>/<str:y>",
        views.town_feature_tile,
        name="town-feature-tile",
    ),
    path("api/presets/describe", views.describe_feature, name="describe-feature"),
    path("photos/<int:photo_id>/<str:size>.jpg", views.photo_file, name="photo"),
    # History and the map as of a date.
    re_path(
        r"^towns/(?P<slug>[-\w]+)/history/(?P<element_type>node|way|relation)/(?P<element_id>-?[0-9]+)/$",
        views.history,
        name="element-history",
    ),
    path("towns/<slug:slug>/as-of/", views.town_as_of, name="town-as-of"),
    path("api/towns/<slug:slug>/as-of/<str:date>/features", views.as_of_features, name="as-of-features"),
]

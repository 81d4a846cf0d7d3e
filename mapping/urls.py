from django.urls import include, path, re_path

from mapping import review_views, views

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
    # Review (agents), contributions (residents), history and the map as of a date.
    path("manage/review/", review_views.review_queue, name="review-queue"),
    path("manage/review/bulk/", review_views.review_bulk, name="review-bulk"),
    path("manage/review/<int:pk>/", review_views.review_revision, name="review-revision"),
    path("manage/review/<int:pk>/decide/", review_views.review_decide, name="review-decide"),
    path("my-contributions/", review_views.my_contributions, name="my-contributions"),
    re_path(
        r"^towns/(?P<slug>[-\w]+)/history/(?P<element_type>node|way|relation)/(?P<element_id>-?[0-9]+)/$",
        review_views.history,
        name="element-history",
    ),
    path("towns/<slug:slug>/as-of/", review_views.town_as_of, name="town-as-of"),
    path(
        "api/towns/<slug:slug>/as-of/<str:date>/features", review_views.as_of_features, name="as-of-features"
    ),
    path("api/review/", include("mapping.api.review")),
]

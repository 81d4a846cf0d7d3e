from django.urls import path

from mapping import views

app_name = "mapping"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("towns/<slug:slug>/", views.town_map, name="town-map"),
    path("api/towns/<slug:slug>/features", views.town_features, name="town-features"),
]

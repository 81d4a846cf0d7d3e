from django.urls import path

from parties import views

app_name = "parties"
urlpatterns = [
    path("join/<str:join_code>/", views.join, name="join"),
    path("parties/<int:party_id>/map/", views.party_map, name="map"),
]

from django.urls import path

from parties.api import views

app_name = "parties-api"
urlpatterns = [
    path("parties/", views.PartyList.as_view(), name="party-list"),
    path("parties/<int:party_id>/", views.PartyDetail.as_view(), name="party-detail"),
]

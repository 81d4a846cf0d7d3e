from django.urls import include, path

from review import views

app_name = "review"
urlpatterns = [
    # Review (agents) and contributions (residents).
    path("manage/review/", views.review_queue, name="review-queue"),
    path("manage/review/bulk/", views.review_bulk, name="review-bulk"),
    path("manage/review/<int:pk>/", views.review_revision, name="review-revision"),
    path("manage/review/<int:pk>/decide/", views.review_decide, name="review-decide"),
    path("my-contributions/", views.my_contributions, name="my-contributions"),
    path("api/review/", include("review.api")),
]

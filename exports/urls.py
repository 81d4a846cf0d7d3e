from django.urls import path

from exports import api, views

app_name = "exports"
urlpatterns = [
    path("towns/<slug:slug>/data/", views.open_data, name="open-data"),
    path("towns/<slug:slug>/data/merge/", views.merge_list, name="merge"),
    path("towns/<slug:slug>/data/merge/<int:conflict_id>/", views.merge_choose, name="merge-choose"),
    path("towns/<slug:slug>/data/jobs/<int:job_id>.json", views.job_status, name="job"),
    path(
        "towns/<slug:slug>/data/parties/<int:party_id>/<str:filename>",
        views.party_download,
        name="party-download",
    ),
    path("towns/<slug:slug>/data/<str:filename>", views.download, name="download"),
    path("api/towns/<slug:slug>/exports/", api.TownExports.as_view(), name="api-exports"),
    path("api/towns/<slug:slug>/exports/jobs/", api.ExportJobs.as_view(), name="api-export-jobs"),
    path(
        "api/towns/<slug:slug>/exports/jobs/<int:job_id>/",
        api.ExportJobDetail.as_view(),
        name="api-export-job",
    ),
    path("api/towns/<slug:slug>/changes/", api.TownChanges.as_view(), name="api-changes"),
]

"""The agent's print pages: order (refused with the reason before queueing), follow, download, retry."""

from __future__ import annotations

import pytest

from exports import jobs
from exports.models import Edition, Job
from tests.factories import AgentFactory, ResidentFactory

SMALL = "9.518,47.137,9.526,47.142"
pytestmark = pytest.mark.usefixtures("export_dir")  # tests/conftest.py


@pytest.fixture
def agent_client(client, centre_town):
    client.force_login(AgentFactory(town=centre_town))
    return client


def order(client, **data):
    form = {"paper": "A4", "lang": "fr", "bbox": SMALL, "title": "Vaduz centre"} | data
    return client.post("/manage/prints/", form)


def test_only_the_towns_agents_see_the_print_page(client, centre_town):
    assert client.get("/manage/prints/").status_code == 302  # to the sign-in page
    client.force_login(ResidentFactory())
    assert client.get("/manage/prints/").status_code == 403
    client.force_login(AgentFactory(town=centre_town))
    response = client.get("/manage/prints/")
    assert response.status_code == 200
    assert "No print yet" in response.content.decode()


@pytest.mark.parametrize(
    ("lang", "headline"),
    [
        ("en", "Phones cannot use the QR codes and links printed from here."),
        (
            "fr",
            "Les téléphones ne peuvent pas utiliser les QR codes et les liens imprimés depuis cette page.",
        ),
    ],
)
def test_print_page_warns_when_the_printed_qr_code_would_be_a_loopback_address(
    agent_client, settings, lang, headline
):
    """The printed map's QR code leads to the town's page at CARTOPARTY_PUBLIC_URL."""
    settings.CARTOPARTY_PUBLIC_URL = "http://localhost:8000"
    html = agent_client.get("/manage/prints/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert headline in html and "http://localhost:8000" in html
    settings.CARTOPARTY_PUBLIC_URL = "https://carto.example.org"
    assert headline not in agent_client.get("/manage/prints/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()


def test_order_queues_a_job_then_the_edition_can_be_downloaded(
    agent_client, centre_town, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = order(agent_client)
    assert response.status_code == 302 and len(queued) == 1
    job = Job.objects.get(town=centre_town, kind=Job.Kind.PRINT)
    assert job.params["bbox"] == [9.518, 47.137, 9.526, 47.142]
    status = agent_client.get(f"/manage/prints/jobs/{job.pk}/status").json()
    assert status["status"] == "queued" and status["download"] is None
    jobs.run_job(job.pk)
    status = agent_client.get(f"/manage/prints/jobs/{job.pk}/status").json()
    assert status["status"] == "done" and status["progress"] == 100
    download = agent_client.get(status["download"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    edition = Edition.objects.get(job=job)
    page = agent_client.get("/manage/prints/").content.decode()
    assert "Download edition 1" in page and "0 added, 0 changed, 0 removed" in page
    assert (
        agent_client.get(f"/manage/prints/editions/{edition.pk}/preview.png")["Content-Type"] == "image/png"
    )


def test_order_over_the_limits_is_refused_with_the_reason(agent_client, centre_town):
    response = order(agent_client, bbox="9.30,47.00,9.70,47.30")
    assert response.status_code == 400
    assert "at most 20 km a side" in response.content.decode()
    assert not Job.objects.filter(town=centre_town).exists()


def test_another_towns_jobs_and_editions_are_not_found(agent_client, centre_town, client):
    order(agent_client)
    job = Job.objects.get(town=centre_town)
    other = AgentFactory()
    client.force_login(other)
    assert client.get(f"/manage/prints/jobs/{job.pk}/status").status_code == 404
    assert client.post(f"/manage/prints/jobs/{job.pk}/retry").status_code == 404


def test_failed_job_can_be_retried_from_the_page(
    agent_client, centre_town, django_capture_on_commit_callbacks
):
    order(agent_client)
    job = Job.objects.get(town=centre_town)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="The worker stopped.")
    assert "The worker stopped." in agent_client.get("/manage/prints/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        response = agent_client.post(f"/manage/prints/jobs/{job.pk}/retry")
    assert response.status_code == 302 and len(queued) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.error == ""

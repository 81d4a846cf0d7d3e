"""The public open-data page, stable downloads with validators, the API, and a real Celery worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from exports.models import Job
from exports.selectors import Scope
from exports.services import request_export
from tests.exports.conftest import make_edits
from tests.factories import PartyFactory, TownFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_dir")]  # tests/conftest.py


def test_page_is_public_with_licence_downloads_and_changelog(client, edited_centre):
    url = reverse("exports:open-data", kwargs={"slug": "centre"})
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "ODbL" in html and "OpenStreetMap contributors" in html
    assert "/towns/centre/data/centre.osm.pbf" in html
    assert "/api/docs/" in html
    assert "Anna" in html  # contributor credited and in the changelog
    assert f"/towns/centre/data/parties/{edited_centre.party.pk}/" in html


def test_empty_town_page_has_helpful_empty_states(client):
    town = TownFactory()
    html = client.get(reverse("exports:open-data", kwargs={"slug": town.slug})).content.decode()
    assert "No published change yet" in html and "No mapping party has published changes yet" in html


def test_download_has_etag_last_modified_and_304(client, centre_town):
    url = reverse("exports:download", kwargs={"slug": "centre", "filename": "centre.osm.pbf"})
    response = client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body[:4] != b"" and response["Content-Type"] == "application/vnd.openstreetmap.data+pbf"
    etag, modified = response["ETag"], response["Last-Modified"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_cache_is_reused_until_the_data_changes(centre_town, django_capture_on_commit_callbacks):
    first, _ = request_export(centre_town, "osm", Scope())
    again, _ = request_export(centre_town, "osm", Scope())
    assert first == again
    with django_capture_on_commit_callbacks(execute=True):  # published_change is sent on commit
        make_edits(centre_town)
    changed, _ = request_export(centre_town, "osm", Scope())
    assert changed != first and not first.exists()
    assert b"opening_hours" in changed.read_bytes()


def test_party_download_is_tenant_scoped(client, edited_centre):
    other = PartyFactory(town=TownFactory())
    url = reverse(
        "exports:party-download",
        kwargs={"slug": "centre", "party_id": other.pk, "filename": f"centre-party-{other.pk}.osm"},
    )
    assert client.get(url).status_code == 404
    mine = edited_centre.party.pk
    url = reverse(
        "exports:party-download",
        kwargs={"slug": "centre", "party_id": mine, "filename": f"centre-party-{mine}.osc"},
    )
    response = client.get(url)
    assert response.status_code == 200
    assert b"<osmChange" in b"".join(response.streaming_content)


def test_api_lists_exports_and_changes(client, edited_centre):
    rows = client.get(reverse("exports:api-exports", kwargs={"slug": "centre"})).json()
    assert {r["format"] for r in rows} == {"pbf", "osm", "osc", "geojson"}
    changes = client.get(reverse("exports:api-changes", kwargs={"slug": "centre"})).json()
    assert changes["count"] == 6 and changes["results"][0]["author"] == "Anna"
    done = client.post(
        reverse("exports:api-export-jobs", kwargs={"slug": "centre"}),
        {"format": "geojson"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["url"].endswith("/towns/centre/data/centre.geojson")
    assert "/api/towns/{slug}/exports/" in client.get("/api/schema/").content.decode()


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_large_export_is_built_by_a_real_celery_worker(client, settings, export_dir, monkeypatch):
    """A worker (started here, on this test database) builds the file; the page polls its progress.

    The job goes to a queue of this test's own: a worker of `make run` on the same Redis would
    otherwise take it and build it against the development database."""
    from config.celery import app
    from mapping.osm_import import import_osm
    from tests.conftest import CENTRE_PBF

    import_osm(CENTRE_PBF, "centre", "Vaduz centre")
    settings.CARTOPARTY_EXPORT_SYNC_MAX = 0
    queue = f"test-exports-{os.getpid()}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@%2F{db['HOST'].strip('/').replace('/', '%2F')}:{db['PORT']}/{db['NAME']}",
        "CARTOPARTY_EXPORT_DIR": str(export_dir),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "-l",
            "WARNING",
        ],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = reverse("exports:download", kwargs={"slug": "centre", "filename": "centre.osm.pbf"})
        response = client.get(url)
        assert response.status_code == 202
        status_url = response["Location"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = client.get(status_url).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert job["status"] == "done", job
        assert Job.objects.get(pk=job["id"]).progress == 100
        response = client.get(url)
        assert response.status_code == 200
        assert response["ETag"]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_page_and_api_query_budget(client, edited_centre, django_assert_num_queries):
    """The page's queries do not grow with the number of changes or parties (no N+1)."""
    url = reverse("exports:open-data", kwargs={"slug": "centre"})
    client.get(url)  # warm the session/cache
    with django_assert_num_queries(6):  # ... and the photos under an open licence (one query)
        assert client.get(url).status_code == 200
    with django_assert_num_queries(3):
        assert client.get(reverse("exports:api-changes", kwargs={"slug": "centre"})).status_code == 200


def test_jobs_are_tenant_scoped(client, centre_town):
    other = Job.objects.create(town=TownFactory(), kind=Job.Kind.EXPORT, params={"format": "pbf"})
    assert (
        client.get(reverse("exports:job", kwargs={"slug": "centre", "job_id": other.pk})).status_code == 404
    )
    url = reverse("exports:api-export-job", kwargs={"slug": "centre", "job_id": other.pk})
    assert client.get(url).status_code == 404
    mine = Job.objects.create(town=centre_town, kind=Job.Kind.EXPORT, params={"format": "pbf"})
    url = reverse("exports:api-export-job", kwargs={"slug": "centre", "job_id": mine.pk})
    assert client.get(url).json()["status"] == "queued"

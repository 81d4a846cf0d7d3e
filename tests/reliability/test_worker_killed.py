"""Kill the worker during an export: the job is marked failed at once, leaves no stray files, and a
retry succeeds. The worker is a real separate process running exports.jobs.run_job on the test
database; its build is held mid-file so the kill lands while the file is being written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from exports.jobs import run_job
from exports.models import Job
from tests.factories import NodeFactory, TownFactory

ROOT = Path(__file__).resolve().parents[2]

# The worker process: the real run_job (liveness lock, build directory), with a build that writes
# half a file and then hangs, as a big export would while PostgreSQL computes the next chunk.
WORKER = """
import sys, time, django
django.setup()
from exports import services
def hanging_build(town, fmt, path, scope=None, progress=None):
    path.write_bytes(b"<osm half a file")
    time.sleep(120)
services.build_export = hanging_build
from exports.jobs import run_job
run_job(int(sys.argv[1]))
"""


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgis://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}"


def _wait(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_killed_export_is_failed_cleaned_and_retried(client, tmp_path, settings):
    settings.CARTOPARTY_EXPORT_DIR = tmp_path
    settings.CARTOPARTY_STALE_BUILD_SECONDS = 1
    town = TownFactory()
    NodeFactory(town=town)
    job = Job.objects.create(town=town, kind=Job.Kind.EXPORT, params={"format": "osm"})
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CARTOPARTY_EXPORT_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(job.pk)], cwd=ROOT, env=env, start_new_session=True
    )
    try:

        def builds() -> list[Path]:
            return list(tmp_path.glob(f"{town.slug}/*/.build-*/*"))

        _wait(lambda: Job.objects.get(pk=job.pk).status == Job.Status.RUNNING and builds())
        status_url = f"/towns/{town.slug}/data/jobs/{job.pk}.json"
        # Alive and busy: still running, however long it takes (no timeout guesses).
        assert client.get(status_url).json()["status"] == "running"

        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    time.sleep(1.2)  # the half-written build directory is now older than the stale limit

    data = client.get(status_url).json()
    assert data["status"] == "failed"
    assert data["error"]
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert not list(tmp_path.rglob(".build-*")), "no stray files"

    retried = run_job(job.pk)  # what the retry button / a redelivered task does
    assert retried.status == Job.Status.DONE
    result = Path(retried.result_path)
    assert result.exists() and result.read_bytes().startswith(b"<?xml")
    assert not list(tmp_path.rglob(".build-*"))

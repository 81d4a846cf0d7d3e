"""The job mechanism knows no kind: each kind registers its handler and what a killed job of it
leaves behind, and a worker starting fails the jobs its predecessor lost (through exports' own
worker signal, config.celery knows nothing of it)."""

from __future__ import annotations

from celery.signals import worker_ready

import exports.tasks  # noqa: F401  (connects the worker signal, as the worker's task autodiscovery does)
from exports import jobs
from exports.models import Job
from exports.printing.services import prints_dir
from tests.factories import TownFactory


def _lost(town, kind: str) -> Job:
    return Job.objects.create(town=town, kind=kind, status=Job.Status.RUNNING, params={})


def test_a_starting_worker_fails_lost_jobs_and_removes_what_each_kind_left(db, settings, tmp_path):
    settings.CARTOPARTY_EXPORT_DIR = tmp_path
    settings.CARTOPARTY_STALE_BUILD_SECONDS = 0
    town = TownFactory()
    printing, export = _lost(town, Job.Kind.PRINT), _lost(town, Job.Kind.EXPORT)
    prints = prints_dir(town)
    prints.mkdir(parents=True)
    leftover, someone_elses = (
        prints / f".job-{printing.pk}-map.pdf",
        prints / f".job-{printing.pk + 1}-map.pdf",
    )
    build = tmp_path / town.slug / "osm" / ".build-abc"
    build.mkdir(parents=True)
    (build / "part.osm").write_bytes(b"<osm half")
    for path in (leftover, someone_elses):
        path.write_bytes(b"half a pdf")

    worker_ready.send(sender=None)

    for job in (printing, export):
        job.refresh_from_db()
        assert (job.status, job.error) == (Job.Status.FAILED, jobs.LOST_MESSAGE)
    assert not leftover.exists() and someone_elses.exists()
    assert not build.exists()


def test_a_kind_without_a_leftovers_cleaner_is_still_failed(db, monkeypatch):
    monkeypatch.setitem(jobs.HANDLERS, "test-kind", lambda job, progress: None)
    job = jobs.fail_if_lost(_lost(TownFactory(), "test-kind"))
    assert job.status == Job.Status.FAILED

"""Running background jobs: one registry of handlers, progress reporting, clean failure.

A handler is ``handler(job, report) -> Path`` registered for a ``Job.Kind``. It writes its result
into a temporary file of its own choosing next to the final path; :func:`run_job` moves nothing and
keeps nothing on failure: whatever the handler listed in ``report.temp_files`` is removed, and the
job is marked failed with the error, so it can be retried.

A worker killed mid-job cannot clean up after itself. Its liveness lock (exports.liveness) is free
then, and :func:`fail_if_lost` (the job-status pages, and every worker starting, call it) marks the
job failed and runs the ``leftovers`` cleaner its kind registered: each kind knows its own temporary
files, this module knows none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from django.utils import timezone

from exports.liveness import held, worker_gone
from exports.models import Job

log = logging.getLogger(__name__)

Handler = Callable[[Job, "Progress"], Path]
Leftovers = Callable[[Job], None]
HANDLERS: dict[str, Handler] = {}
LEFTOVERS: dict[str, Leftovers] = {}
# The module that registers each kind's handler, imported when such a job first runs: the handlers
# pull in Mapnik, ReportLab and the export writers, which no other process start needs.
HANDLER_MODULES: dict[str, str] = {
    Job.Kind.EXPORT: "exports.handlers",
    Job.Kind.PRINT: "exports.printing.services",
}


LOST_MESSAGE = "The worker stopped before the job finished."


def register(kind: str) -> Callable[[Handler], Handler]:
    def decorator(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return decorator


def register_leftovers(kind: str) -> Callable[[Leftovers], Leftovers]:
    """Register what removes the temporary files a killed job of ``kind`` left behind."""

    def decorator(fn: Leftovers) -> Leftovers:
        LEFTOVERS[kind] = fn
        return fn

    return decorator


def _load(kind: str) -> None:
    if kind not in HANDLERS and kind in HANDLER_MODULES:
        import_module(HANDLER_MODULES[kind])


def handler_for(kind: str) -> Handler:
    _load(kind)
    return HANDLERS[kind]


def remove_leftovers(job: Job) -> None:
    """Remove a killed job's temporary files, as its kind's registered cleaner finds them."""
    _load(job.kind)
    if job.kind in LEFTOVERS:
        LEFTOVERS[job.kind](job)


@dataclass
class Progress:
    job: Job
    temp_files: list[Path] = field(default_factory=list)

    def __call__(self, percent: int, message: str = "") -> None:
        """Record progress (0-100) so the page can show it; cheap enough to call often."""
        percent = max(0, min(100, int(percent)))
        if percent != self.job.progress or message != self.job.message:
            self.job.progress, self.job.message = percent, message[:300]
            Job.objects.filter(pk=self.job.pk).update(progress=percent, message=self.job.message)


def run_job(job_id: int) -> Job:
    """Run one job to completion in this process (called by the Celery task).

    The job's liveness lock is held while it runs, so a killed worker is noticed at once
    (exports.liveness).
    """
    with held(job_id):
        return _run_job(job_id)


def _run_job(job_id: int) -> Job:
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), error="", progress=0
    )
    job.refresh_from_db()
    progress = Progress(job)
    try:
        result = handler_for(job.kind)(job, progress)
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        for path in progress.temp_files:
            path.unlink(missing_ok=True)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.DONE, progress=100, result_path=str(result), finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def fail_if_lost(job: Job) -> Job:
    """If ``job`` says running but no worker holds it, mark it failed and remove its leftovers."""
    if job.status != Job.Status.RUNNING or not worker_gone(job.pk):
        return job
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED, error=LOST_MESSAGE, finished_at=timezone.now()
    )
    if updated:
        log.warning("job %s lost its worker: marked failed", job.pk)
        remove_leftovers(job)
    job.refresh_from_db()
    return job


def fail_lost_jobs() -> int:
    """Every running job without a worker is marked failed (a worker starting calls this)."""
    lost = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING).select_related("town"):
        lost += fail_if_lost(job).status == Job.Status.FAILED
    return lost

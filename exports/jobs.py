"""Running background jobs: one registry of handlers, progress reporting, clean failure.

A handler is ``handler(job, report) -> Path`` registered for a ``Job.Kind``. It writes its result
into a temporary file of its own choosing next to the final path; :func:`run_job` moves nothing and
keeps nothing on failure: whatever the handler listed in ``report.temp_files`` is removed, and the
job is marked failed with the error, so it can be retried.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from exports.models import Job

log = logging.getLogger(__name__)

Handler = Callable[[Job, "Progress"], Path]
HANDLERS: dict[str, Handler] = {}
# The module that registers each kind's handler, imported when such a job first runs: the handlers
# pull in Mapnik, ReportLab and the export writers, which no other process start needs.
HANDLER_MODULES: dict[str, str] = {
    Job.Kind.EXPORT: "exports.handlers",
    Job.Kind.PRINT: "exports.printing.services",
}


def register(kind: str) -> Callable[[Handler], Handler]:
    def decorator(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return decorator


def handler_for(kind: str) -> Handler:
    if kind not in HANDLERS and kind in HANDLER_MODULES:
        import_module(HANDLER_MODULES[kind])
    return HANDLERS[kind]


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
    from exports.liveness import held

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


def mark_stale_jobs_failed(older_than_seconds: int = 3600) -> int:
    """Jobs left 'running' by a killed worker are marked failed (retryable)."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    return Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff).update(
        status=Job.Status.FAILED,
        error=_("The worker stopped before the job finished."),
        finished_at=timezone.now(),
    )

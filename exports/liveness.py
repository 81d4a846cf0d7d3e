"""Is the worker running a job still alive? A PostgreSQL advisory lock says so, promptly.

The worker takes a session-level advisory lock keyed by the job's id before marking it running and
holds it until the job ends (:func:`held`). If the worker process is killed (OOM, SIGKILL, a
machine restart), its database session ends and PostgreSQL releases the lock at once. Anyone can
then tell a lost job from a slow one without a heartbeat table or a timeout: a running job whose
lock can be taken has no worker (:func:`fail_if_lost`, called by the job-status pages and when a
worker starts). The lost job is marked failed, its leftovers are removed, and it can be retried.

Precondition: no transaction-pooling proxy (pgbouncer in transaction mode) between Django and
PostgreSQL, since session locks need the session.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from exports.models import Job

log = logging.getLogger(__name__)

LOCK_CLASS = 0x4A4F42  # "JOB": the first key of the two-key advisory lock, the job id the second
LOST_MESSAGE = "The worker stopped before the job finished."


@contextmanager
def held(job_id: int) -> Iterator[None]:
    """Hold the job's liveness lock on this process's database session for the block."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])


def _worker_gone(job_id: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job_id])
        (free,) = cur.fetchone()
        if free:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job_id])
    return bool(free)


def fail_if_lost(job: Job) -> Job:
    """If ``job`` says running but no worker holds it, mark it failed and remove its leftovers."""
    if job.status != Job.Status.RUNNING or not _worker_gone(job.pk):
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


def remove_leftovers(job: Job, stale_seconds: float | None = None) -> None:
    """Temporary files of a killed job: a print's ``.job-<id>-*`` files, an export's abandoned
    ``.build-*`` directories (those nobody has written to lately: a live build may share the town)."""
    if job.kind == Job.Kind.PRINT:
        from exports.printing.services import prints_dir

        directory = prints_dir(job.town)
        for path in directory.glob(f".job-{job.pk}-*") if directory.exists() else ():
            path.unlink(missing_ok=True)
    elif job.kind == Job.Kind.EXPORT:
        # A build directory whose files have not changed for this long belongs to no living build.
        stale = settings.CARTOPARTY_STALE_BUILD_SECONDS if stale_seconds is None else stale_seconds
        root = Path(settings.CARTOPARTY_EXPORT_DIR) / job.town.slug
        for work in root.glob("*/.build-*") if root.exists() else ():
            newest = max([p.stat().st_mtime for p in work.rglob("*")] + [work.stat().st_mtime])
            if time.time() - newest >= stale:
                shutil.rmtree(work, ignore_errors=True)

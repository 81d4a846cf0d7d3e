"""Celery tasks and worker signals of the exports app (the worker finds them by autodiscovery).

``shared_task`` rather than the project's Celery application: exports does not import config, which
wires the apps together (docs/architecture.md).
"""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from exports.jobs import fail_lost_jobs, run_job


@shared_task(name="exports.run_job", acks_late=True)
def run_job_task(job_id: int) -> str:
    return run_job(job_id).status


@worker_ready.connect(dispatch_uid="exports-fail-lost-jobs")
def fail_jobs_lost_by_a_previous_worker(**kwargs) -> None:
    """A worker starting after a crash marks the jobs its predecessor left 'running' as failed."""
    fail_lost_jobs()

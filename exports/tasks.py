"""Celery tasks: thin wrappers around exports.jobs.run_job."""

from __future__ import annotations

from celery import shared_task

from exports.jobs import run_job


@shared_task(name="exports.run_job", acks_late=True)
def run_job_task(job_id: int) -> str:
    return run_job(job_id).status

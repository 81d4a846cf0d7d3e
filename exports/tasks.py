"""Celery tasks: thin wrappers around exports.jobs.run_job."""

from __future__ import annotations

from config.celery import app
from exports.jobs import run_job


@app.task(name="exports.run_job", acks_late=True)
def run_job_task(job_id: int) -> str:
    return run_job(job_id).status

"""Celery application: background exports, prints and imports."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
app = Celery("cartoparty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def fail_jobs_lost_by_a_previous_worker(**kwargs) -> None:
    """A worker starting after a crash marks the jobs its predecessor left 'running' as failed."""
    from exports.liveness import fail_lost_jobs

    fail_lost_jobs()

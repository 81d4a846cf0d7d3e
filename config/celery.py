"""Celery application: background exports and prints. The apps' tasks (and the worker signals they
connect) are found by autodiscovery and declared with ``shared_task``, so this module imports no app
and no app imports it; config/urls.py loads it in the processes that queue jobs."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
app = Celery("cartoparty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()  # every thread's app, so a shared task queued from any web thread uses this broker
app.autodiscover_tasks()

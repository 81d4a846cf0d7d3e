"""Celery application: background exports and prints. The apps' tasks (and the worker signals they
connect) are found by autodiscovery; this module imports no app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
app = Celery("cartoparty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

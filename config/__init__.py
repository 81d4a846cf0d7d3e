"""Project package: settings, URLs, WSGI, and the Celery application (config.celery).

The Celery application is not imported here, as Django's Celery recipe does: that costs every
process start 80 ms. ``celery -A config`` finds ``config.celery`` by itself, and
``exports.tasks`` imports it before a job is queued.
"""

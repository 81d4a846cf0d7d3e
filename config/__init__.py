"""Project package: it wires the apps and imports any of them. Settings, the root URLs, WSGI, the
Celery application (config.celery), and what belongs to no one app: the sign-in guard
(config.login_guard), security headers and request limits (config.security), the OpenAPI error
answers (config.openapi), how manage.py starts (config.startup), the static files storage.

The Celery application is not imported here, as Django's Celery recipe does: that costs every
process start 80 ms. ``celery -A config`` finds ``config.celery`` by itself, and ``config.urls``
imports it in the processes that serve requests (the ones that queue jobs).
"""

import os

# numpy (imported by GeoDjango's GDAL bindings and by shapely) starts OpenBLAS's thread pool, one
# busy-waiting thread per core, in every process; Cartoparty never multiplies matrices. One thread
# saves ~0.13 s of CPU at each start (measured on the import command). This package is imported
# before numpy by every entry point (manage.py, config.wsgi, celery -A config).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

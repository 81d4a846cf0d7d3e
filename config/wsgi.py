"""WSGI entry point (gunicorn config.wsgi).

What loading the application built (modules, URL patterns, translations, ~100,000 objects) lives as
long as the worker, so it is frozen out of the garbage collector: a full collection then scans only
what requests left behind. Measured under bench/load.py --trace (docs/benchmarks.md, "Where the
tail came from"): a worker's full collections took up to 136 ms of CPU, during which all of its
threads stand still, and about half that once frozen. Each gunicorn worker imports this module
after it is forked, so each freezes its own heap.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
gc.disable()  # no collection passes over the objects being created while the app loads
application = get_wsgi_application()
gc.freeze()
gc.enable()

"""Importing mapnik must not break GeoDjango's transforms (exports.geodata says why)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
import mapnik  # as a tile or a print does, in a web or worker process
from django.contrib.gis.geos import Point
done = []
def transform():  # a request thread: PROJ makes a new context for it
    point = Point(9.52, 47.14, srid=4326)
    point.transform(3857)
    done.append(round(point.x))
thread = threading.Thread(target=transform)
thread.start()
thread.join()
print(done)
"""


def test_a_transform_in_a_new_thread_after_mapnik_was_imported_works():
    env = {k: v for k, v in os.environ.items() if k not in ("PROJ_LIB", "PROJ_DATA", "GDAL_DATA")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1059762]", done.stderr

"""manage.py's set-up: ``import_osm`` leaves out the apps an import never uses, and imports the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from mapping.models import Node, Relation, Way
from tests.conftest import CENTRE_PBF

ROOT = Path(__file__).resolve().parent.parent

# In a fresh process: the apps set up for a command and the receivers of the signals an import sends
# (published_change, upstream_conflicts_changed: the caches exports keeps).
PROBE = """
import json, sys
from config.startup import setup
setup(["manage.py", sys.argv[1]])
from django.apps import apps
from mapping.signals import published_change, upstream_conflicts_changed
print(json.dumps({
    "apps": [a.name for a in apps.get_app_configs()],
    "conflict_receivers": sorted(str(key[0][0]) for key in upstream_conflicts_changed.receivers),
    "receivers": sorted(str(key[0][0]) for key in published_change.receivers),  # dispatch uids
}))
"""


def probe(command: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, command], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def test_import_osm_sets_up_without_the_web_apps_and_with_every_hook():
    full, lean = probe("check"), probe("import_osm")
    assert {"django.contrib.admin", "rest_framework", "leaflet", "drf_spectacular"} <= set(full["apps"])
    assert not {"django.contrib.admin", "rest_framework", "leaflet", "drf_spectacular"} & set(lean["apps"])
    assert {"parties", "mapping", "exports"} <= set(lean["apps"])
    # The cache invalidations an import triggers are registered all the same.
    assert lean["conflict_receivers"] == full["conflict_receivers"] and lean["conflict_receivers"]
    assert lean["receivers"] == full["receivers"] and len(lean["receivers"]) >= 3


def test_other_commands_set_up_every_installed_app():
    assert len(probe("check")["apps"]) == len(settings.INSTALLED_APPS)


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_manage_py_import_osm_imports_with_the_lean_set_up():
    """The command as the README runs it, in its own process, on this test database."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "import_osm", str(CENTRE_PBF), "--town", "lean"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Imported" in done.stdout
    counts = [model.objects.filter(town__slug="lean").count() for model in (Node, Way, Relation)]
    assert all(counts) and f"{counts[0]:,}" in done.stdout

"""How ``manage.py`` sets Django up: the garbage collector held off, and fewer apps for ``import_osm``.

Why: a town-sized import is timed against osm2pgsql, which loads the demo extract in 0.6 s
(docs/benchmarks.md), and setting up every installed app (the admin, DRF and its schema generator,
Leaflet, static files...) cost the import process 0.15-0.3 s of CPU (measured on a busy machine,
docs/benchmarks.md) for code it never runs. The settings module and the database are the same for
every command; an import's process leaves out only the apps an import does not use.
"""

from __future__ import annotations

import argparse
import gc
import os
from typing import NoReturn

# What an import uses: the store's models and what they refer to (the town, its users and their
# content types), GeoDjango's and PostgreSQL's fields, and the apps whose ready() registers what an
# import sets off (the upstream merge, the data-version and tile caches).
COMMAND_APPS = {
    "import_osm": frozenset(
        {
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.gis",
            "django.contrib.postgres",
            "parties",
            "mapping",
            "exports",
        }
    ),
}


class _QuietParser(argparse.ArgumentParser):
    """Raises instead of printing a usage error and exiting (``import_osm --help`` has no file)."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def start_import_readers(argv: list[str]) -> bool:
    """Before Django's set-up: start the libosmium readers ``import_osm FILE`` will take, so that
    they start and decode on the other core while Django sets up (:mod:`mapping.opl_children`).
    True if they were started (a ``.pbf`` file that exists)."""
    if argv[1:2] != ["import_osm"]:
        return False
    parser = _QuietParser(add_help=False)
    parser.add_argument("file")
    parser.add_argument("--town")
    parser.add_argument("--name")
    try:
        known, _rest = parser.parse_known_args(argv[2:])
    except ValueError:  # the command itself will say what is wrong with its arguments, once
        return False
    from mapping import opl_children  # only pyosmium's path and the standard library: no Django

    return opl_children.start_early(known.file)


def setup(argv: list[str]) -> None:
    """Set Django up for the command in ``argv`` (as ``manage.py`` receives it).

    Start-up creates some 90,000 objects that live as long as the process. Collecting them over and
    over while they are created, and once more at exit, cost each command about 0.15 s: so no
    collection during start-up, and what it built is frozen, never scanned again.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    start_import_readers(argv)
    gc.disable()
    import django
    from django.conf import settings

    needed = COMMAND_APPS.get(argv[1] if len(argv) > 1 else "")
    if needed is not None:
        settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app in needed]
    django.setup()
    gc.freeze()
    gc.enable()

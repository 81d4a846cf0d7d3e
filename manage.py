#!/usr/bin/env python
"""Django's command-line utility."""

import gc
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Start-up creates some 90,000 objects that live as long as the process. Collecting them over
    # and over while they are created, and once more at exit, cost each command about 0.15 s
    # (measured; imports are timed against osm2pgsql, see docs/benchmarks.md). So: no collection
    # during start-up, and what start-up and the command built is frozen, never scanned again.
    gc.disable()
    import django

    django.setup()
    gc.freeze()
    gc.enable()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
    gc.freeze()

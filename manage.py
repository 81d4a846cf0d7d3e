#!/usr/bin/env python
"""Django's command-line utility."""

import gc
import sys

if __name__ == "__main__":
    from config.startup import setup

    setup(sys.argv)  # see config/startup.py: start-up time counts in every import
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
    gc.freeze()  # nor is it scanned at exit

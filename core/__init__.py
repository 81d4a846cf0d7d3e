"""Shared kernel every app may import (it imports no app): service errors and their HTTP translation, form and parser helpers, the SRID."""

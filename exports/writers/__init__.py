"""Streaming writers, one per file format, sharing the small interface of :mod:`.base`."""

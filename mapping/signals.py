"""Signals other apps listen to (connected in their AppConfig.ready with a dispatch_uid).

``published_change`` is sent after the transaction that changed published data commits, with
``town`` (Town) and ``bbox`` ((west, south, east, north) of everything touched, before and after).
Tile caches and export caches invalidate themselves from it; mapping never imports them.
"""

from django.dispatch import Signal

published_change = Signal()

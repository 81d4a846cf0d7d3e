"""Signals other apps listen to (connected in their AppConfig.ready with a dispatch_uid).

``published_change`` is sent after the transaction that changed published data commits, with
``town`` (Town) and ``bbox`` ((west, south, east, north) of everything touched, before and after).
Tile caches and export caches invalidate themselves from it; mapping never imports them.

``upstream_conflicts_changed`` is sent after the import that opened upstream conflicts commits, with
``town``: no published element changed (they are held as they were), but what may be sent to
OpenStreetMap did, so the export caches listen to it too.
"""

from django.db import transaction
from django.dispatch import Signal

published_change = Signal()
upstream_conflicts_changed = Signal()


def announce_published_change(sender: type, town, extents: list[tuple[float, float, float, float]]) -> None:
    """Send ``published_change`` after commit, over the box holding all ``extents`` (none: no signal)."""
    if not extents:
        return
    bbox = (
        min(e[0] for e in extents),
        min(e[1] for e in extents),
        max(e[2] for e in extents),
        max(e[3] for e in extents),
    )
    transaction.on_commit(lambda: published_change.send(sender=sender, town=town, bbox=bbox))

"""The town's data version: the cache key of its exports, kept in a marker file between changes.

Its own module because every process connects :func:`on_published_change` at start-up, and the
export services behind it are heavy to import (a management command pays for them otherwise).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from parties.models import Town

VERSION_TTL_SECONDS = 300  # a missed invalidation is corrected within this time at worst


def _version_marker(town: Town) -> Path:
    return Path(settings.CARTOPARTY_EXPORT_DIR) / town.slug / ".data-version"


def compute_data_version(town: Town) -> str:
    """A token that changes whenever the town's published data changes (the cache key).

    Every write bumps ``updated_at`` (apply_change, review's bulk accept, the importer and the
    upstream merge all do), a deletion changes a count, and open upstream conflicts change what the
    osmChange holds: (latest update, counts) per table plus the open conflicts are enough. It scans
    the town's rows, so :func:`data_version` keeps it in a marker file between changes.
    """
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT (SELECT max(updated_at)::text || count(*) FROM mapping_node WHERE town_id = %(t)s),
                   (SELECT max(updated_at)::text || count(*) FROM mapping_way WHERE town_id = %(t)s),
                   (SELECT max(updated_at)::text || count(*) FROM mapping_relation WHERE town_id = %(t)s),
                   (SELECT count(*) FROM mapping_revision WHERE town_id = %(t)s AND status = 'accepted'),
                   (SELECT string_agg(id::text, ',' ORDER BY id) FROM exports_upstreamconflict
                    WHERE town_id = %(t)s AND status = 'open')
            """,
            {"t": town.pk},
        )
        raw = "|".join(str(v) for v in cur.fetchone())
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def data_version(town: Town, *, fresh: bool = False) -> str:
    """The town's data version, from the marker file when it is recent (every process shares it).

    The marker is removed by :func:`forget_data_version` when data changes (published_change,
    re-import, merge choices); ``fresh`` recomputes it (builds do, so a file is filed under the
    version of the data it holds).
    """
    marker = _version_marker(town)
    if not fresh:
        try:
            if time.time() - marker.stat().st_mtime < VERSION_TTL_SECONDS:
                return marker.read_text().strip()
        except (FileNotFoundError, ValueError):
            pass
    version = compute_data_version(town)
    marker.parent.mkdir(parents=True, exist_ok=True)
    temp = marker.with_name(f".data-version.{uuid.uuid4().hex}")
    temp.write_text(version)
    temp.replace(marker)
    return version


def forget_data_version(town: Town) -> None:
    _version_marker(town).unlink(missing_ok=True)


def on_published_change(sender, town: Town, **kwargs) -> None:
    """Receiver of mapping's published_change and upstream_conflicts_changed (both sent after commit):
    the cache key moves on."""
    forget_data_version(town)

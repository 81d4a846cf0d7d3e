"""Building export files (choose the writer, feed it PostgreSQL's chunks) and caching them.

Every build reads one consistent snapshot (one REPEATABLE READ transaction when we own it) so a
file never mixes two states of the data. See docs/exports.md for the design and its figures.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from exports import producer
from exports.changesets import build_osmchange
from exports.data_version import data_version
from exports.formats import FORMATS, attribution_for
from exports.models import Job
from exports.selectors import (
    CHUNK,
    GEOJSON_CHUNK,
    KINDS,
    Scope,
    common_time,
    count_elements,
    drop_scope,
    geojson_passes,
    materialise_scope,
    opl_passes,
)
from mapping.selectors import BBox
from parties.models import Town

ProgressFn = Callable[[int, str], None]
# Whole-town exports build their chunks on two connections (exports.producer): one per core.
PARALLEL_CONNECTIONS = True


class ExportError(ValueError):
    """The export cannot be built as asked (the message says why)."""


@dataclass
class ExportResult:
    """What a build wrote: the file(s), element counts, and for osmChange the changesets."""

    paths: list[Path]
    counts: dict[str, int]
    changesets: list[dict] = field(default_factory=list)


def _noop(percent: int, message: str = "") -> None:
    pass


class _Snapshot:
    """One consistent, read-only view of the data for the whole build, scope tables included."""

    def __init__(self, town: Town, scope: Scope) -> None:
        self.town, self.scope = town, scope
        # A second connection can read this snapshot (exports.producer) only when the build owns
        # its transaction (a caller's uncommitted writes are invisible to other connections) and
        # reads the whole town (a scope lives in this connection's temporary tables).
        self.shared: str | None = None

    def __enter__(self) -> _Snapshot:
        owns = not connection.in_atomic_block
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        with connection.cursor() as cur:
            if owns:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Each chunk's query is costed high enough for PostgreSQL to compile it (JIT) again,
            # every chunk: a third of the server's time for an export (docs/benchmarks.md).
            cur.execute("SET LOCAL jit = off")
            if owns and self.scope.whole_town and PARALLEL_CONNECTIONS:
                cur.execute("SELECT pg_export_snapshot()")
                self.shared = cur.fetchone()[0]
        if not self.scope.whole_town:
            materialise_scope(self.town, self.scope)
        return self

    def second_connection(self) -> Callable[[], psycopg.Connection] | None:
        """What opens the second connection reading this snapshot, if the build can use one."""
        if self.shared is None:
            return None
        params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k not in ("cursor_factory", "context")
        }
        return producer.snapshot_connection(params, self.shared)

    def __exit__(self, *exc) -> None:
        if not self.scope.whole_town:
            drop_scope()
        self._atomic.__exit__(*exc)


def build_export(
    town: Town, fmt: str, path: Path, scope: Scope | None = None, progress: ProgressFn | None = None
) -> ExportResult:
    """Write ``town``'s data (narrowed by ``scope``) as ``fmt`` to ``path``.

    Preconditions: ``path``'s directory exists; the caller has checked the town is the requester's.
    Memory stays at one chunk (25,000 elements) whatever the town's size, except for osmChange,
    which holds the changes in memory to split them into changesets (they are few by nature).
    """
    scope = scope or Scope()
    progress = progress or _noop
    if fmt not in FORMATS:
        raise ExportError(_("Unknown format: %(fmt)s") % {"fmt": fmt})
    with _Snapshot(town, scope) as snapshot:
        if fmt == "osc":
            done = build_osmchange(town, path, scope, progress)
            return ExportResult(paths=done.paths, counts=done.counts, changesets=done.changesets)
        scoped = not scope.whole_town
        # Counting is a scan of its own: only when someone watches the progress (worker jobs).
        total = (
            (sum(count_elements(town, k, scoped=scoped) for k in KINDS) or 1) if progress is not _noop else 0
        )
        writer = FORMATS[fmt].writer(path, attribution_for(town))
        writer.start()
        chunks = export_chunks(town, fmt, scoped, snapshot.second_connection())
        try:
            written = 0
            for kind, count, data in chunks:
                writer.write_chunk(kind, data)
                written += count
                if total:
                    progress(
                        min(99, written * 100 // total),
                        _("%(done)s of %(total)s elements") % {"done": written, "total": total},
                    )
        except BaseException:
            writer.abort()  # stops the encoder thread, removes the partial file
            raise
        finally:
            chunks.close()  # the chunk workers stop (and the second connection closes) before the snapshot ends
        stats = writer.end()
    return ExportResult(paths=[path], counts=stats.counts)


def export_chunks(
    town: Town, fmt: str, scoped: bool, second: Callable[[], psycopg.Connection] | None = None
) -> Generator[tuple[str, int, bytes], None, None]:
    """(kind, count, bytes) chunks of a whole file in ``fmt`` (not osc), in file order."""
    if fmt == "geojson":
        passes = [p for kind in KINDS for p in geojson_passes(kind, scoped=scoped)]
        limit = GEOJSON_CHUNK
    else:
        common = common_time(town)
        passes = [
            p
            for kind in KINDS
            for p in opl_passes(kind, scoped=scoped, positive_ids=fmt == "pbf", common=common)
        ]
        limit = CHUNK
    connection.ensure_connection()
    return producer.chunks(connection.connection, passes, town.pk, limit, second)


# --- Cached downloads and background builds ----------------------------------------------------


def download_name(town: Town, fmt: str, scope: Scope) -> str:
    """The stable file name of an export, e.g. ``vaduz.osm.pbf``, ``vaduz-party-3.osc``."""
    stem = town.slug if scope.whole_town else f"{town.slug}-{scope.slug()}"
    return f"{stem}.{FORMATS[fmt].extension}"


def download_url(town: Town, fmt: str, scope: Scope) -> str:
    """The stable URL of an export (whole town, or one party)."""
    name = download_name(town, fmt, scope)
    if scope.party_id is not None:
        kwargs = {"slug": town.slug, "party_id": scope.party_id, "filename": name}
        return reverse("exports:party-download", kwargs=kwargs)
    return reverse("exports:download", kwargs={"slug": town.slug, "filename": name})


def downloads_for_town(town: Town, scope: Scope | None = None) -> list[dict]:
    """Every format of an export with its stable URL, and size and date once built."""
    scope = scope or Scope()
    version = data_version(town)
    rows = []
    for name, fmt in FORMATS.items():
        path = cached_path(town, name, scope, version)
        stat = path.stat() if path.exists() else None
        rows.append(
            {
                "format": name,
                "label": fmt.label,
                "media_type": fmt.media_type,
                "name": download_name(town, name, scope),
                "url": download_url(town, name, scope),
                "size": stat.st_size if stat else None,
                "date": dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC) if stat else None,
            }
        )
    return rows


def cached_path(town: Town, fmt: str, scope: Scope, version: str | None = None) -> Path:
    version = version or data_version(town)
    return Path(settings.CARTOPARTY_EXPORT_DIR) / town.slug / version / download_name(town, fmt, scope)


def build_cached(town: Town, fmt: str, scope: Scope, progress: ProgressFn | None = None) -> Path:
    """Build the export into the cache (atomic rename: readers never see half a file)."""
    version = data_version(town, fresh=True)
    final = cached_path(town, fmt, scope, version)
    if final.exists():
        return final
    # Built in a private directory, then renamed into place: readers never see half a file.
    work = final.parent / f".build-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        result = build_export(town, fmt, work / final.name, scope, progress)
        for built in result.paths[::-1]:  # the main file last: its presence means "complete"
            built.replace(final.parent / built.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _prune_old_versions(town, version)
    return final


def _prune_old_versions(town: Town, keep: str) -> None:
    """Old data versions are never served again: remove them (cache until the data changes)."""
    root = Path(settings.CARTOPARTY_EXPORT_DIR) / town.slug
    for child in root.iterdir() if root.exists() else ():
        if child.is_dir() and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def elements_in(town: Town, scope: Scope) -> int:
    with _Snapshot(town, scope):
        return sum(count_elements(town, k, scoped=not scope.whole_town) for k in KINDS)


def request_export(town: Town, fmt: str, scope: Scope, user=None) -> tuple[Path | None, Job | None]:
    """A cached file if there is one; else build it now (small) or queue a worker job (large).

    Returns (path, None) or (None, job). An identical job already queued or running is reused,
    so many visitors asking at once start one build.
    """
    path = cached_path(town, fmt, scope)
    if path.exists():
        return path, None
    if elements_in(town, scope) <= settings.CARTOPARTY_EXPORT_SYNC_MAX:
        return build_cached(town, fmt, scope), None
    params = scope_params(fmt, scope)
    job = (
        Job.objects.filter(
            town=town, kind=Job.Kind.EXPORT, params=params, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )
    if job is None:
        job = Job.objects.create(
            town=town,
            kind=Job.Kind.EXPORT,
            params=params,
            created_by=user if user and user.is_authenticated else None,
        )
        from exports.tasks import run_job_task

        transaction.on_commit(lambda: run_job_task.delay(job.pk))
    return None, job


def scope_params(fmt: str, scope: Scope) -> dict:
    params: dict = {"format": fmt}
    if scope.party_id is not None:
        params["party"] = scope.party_id
    if scope.bbox is not None:
        b = scope.bbox
        params["bbox"] = [b.west, b.south, b.east, b.north]
    if scope.since is not None:
        params["since"] = scope.since.isoformat()
    return params


def scope_from_params(params: dict) -> Scope:
    bbox = params.get("bbox")
    since = params.get("since")
    return Scope(
        party_id=params.get("party"),
        bbox=BBox(*bbox) if bbox else None,
        since=dt.datetime.fromisoformat(since) if since else None,
    )

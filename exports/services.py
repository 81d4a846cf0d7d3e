"""Building export files: choose the writer, feed it PostgreSQL's chunks, split osmChanges.

Every build reads one consistent snapshot (one REPEATABLE READ transaction when we own it) so a
file never mixes two states of the data. See docs/exports.md for the design and its figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from exports.formats import FORMATS
from exports.models import Job
from exports.selectors import (
    KINDS,
    Scope,
    count_elements,
    drop_scope,
    geojson_chunks_for_town,
    materialise_scope,
    opl_chunks_for_town,
)
from exports.writers.base import Attribution
from exports.writers.osmchange import OsmChangeWriter
from mapping.models import Revision
from mapping.selectors import BBox
from mapping.store import next_local_id
from parties.models import Party, Town

ProgressFn = Callable[[int, str], None]
MAX_CHANGESET_CHANGES = 10_000  # OSM API limit per changeset
MAX_WAY_NODES = 2_000  # OSM API limit per way


class ExportError(ValueError):
    """The export cannot be built as asked (the message says why)."""


def generator() -> str:
    return f"Cartoparty {importlib.metadata.version('cartoparty')}"


def attribution_for(town: Town) -> Attribution:
    return Attribution(generator=generator())


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

    def __enter__(self) -> _Snapshot:
        owns = not connection.in_atomic_block
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        if owns:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if not self.scope.whole_town:
            materialise_scope(self.town, self.scope)
        return self

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
    with _Snapshot(town, scope):
        if fmt == "osc":
            return _build_osmchange(town, path, scope, progress)
        scoped = not scope.whole_town
        # Counting is a scan of its own: only when someone watches the progress (worker jobs).
        total = (
            (sum(count_elements(town, k, scoped=scoped) for k in KINDS) or 1) if progress is not _noop else 0
        )
        writer = FORMATS[fmt].writer(path, attribution_for(town))
        writer.start()
        done = 0
        source = geojson_chunks_for_town if fmt == "geojson" else opl_chunks_for_town
        for kind in KINDS:
            extra = {"positive_ids": True} if fmt == "pbf" else {}
            for count, data in source(town, kind, scoped=scoped, **extra):
                writer.write_chunk(kind, data)
                done += count
                if total:
                    progress(
                        min(99, done * 100 // total),
                        _("%(done)s of %(total)s elements") % {"done": done, "total": total},
                    )
        stats = writer.end()
    return ExportResult(paths=[path], counts=stats.counts)


# --- osmChange ---------------------------------------------------------------------------------
_NEG_REF = re.compile(rb"[nwr](-\d+)")


@dataclass
class _Line:
    kind: str
    opl: bytes
    index: int

    @property
    def osm_id(self) -> int:
        return int(self.opl.split(b" ", 1)[0][1:])


def _fields(opl: bytes) -> dict[bytes, bytes]:
    return {f[:1]: f[1:] for f in opl.rstrip(b"\n").split(b" ")}


def _join(fields: dict[bytes, bytes], kind: str, osm_id: int) -> bytes:
    order = [b"v", b"d", b"c", b"t", b"i", b"u", b"T"]
    order += [b"x", b"y"] if kind == "node" else [b"N"] if kind == "way" else [b"M"]
    return f"{kind[0]}{osm_id}".encode() + b"".join(b" " + k + fields.get(k, b"") for k in order) + b"\n"


def split_long_ways(lines: list[_Line], town: Town) -> list[_Line]:
    """Split ways of more than 2,000 nodes as iD does before upload.

    A line is cut into consecutive pieces sharing their end nodes; the first piece keeps the way's
    id, the others are new ways (negative ids) with the same tags, added after it, with the same
    role, to the relations in this change that contain it. A closed area becomes a multipolygon
    relation carrying the tags, its pieces as ``outer`` members (iD's "split area").
    """
    out: list[_Line] = []
    extra_relations: list[_Line] = []
    replaced: dict[int, list[int]] = {}
    for line in lines:
        if line.kind != "way":
            out.append(line)
            continue
        fields = _fields(line.opl)
        refs = fields[b"N"].split(b",") if fields.get(b"N") else []
        if len(refs) <= MAX_WAY_NODES:
            out.append(line)
            continue
        step = MAX_WAY_NODES - 1
        pieces = [refs[i : i + MAX_WAY_NODES] for i in range(0, len(refs) - 1, step)]
        ids = [line.osm_id] + [next_local_id() for _ in pieces[1:]]
        closed = refs[0] == refs[-1]
        tags = fields.get(b"T", b"")
        for n, (piece, way_id) in enumerate(zip(pieces, ids, strict=True)):
            piece_fields = {**fields, b"N": b",".join(piece)}
            if n:
                piece_fields.update({b"v": b"1", b"d": b"V"})
            if closed:
                piece_fields[b"T"] = b""
            out.append(_Line("way", _join(piece_fields, "way", way_id), line.index))
        if closed:
            members = b",".join(b"w%d@outer" % i for i in ids)
            tag = tags + (b"," if tags else b"") + b"type=multipolygon"
            rel = {
                b"v": b"1",
                b"d": b"V",
                b"c": b"0",
                b"t": fields[b"t"],
                b"i": b"0",
                b"T": tag,
                b"M": members,
            }
            extra_relations.append(_Line("relation", _join(rel, "relation", next_local_id()), line.index))
        else:
            replaced[line.osm_id] = ids
    if replaced:
        for i, line in enumerate(out):
            if line.kind == "relation":
                out[i] = _Line("relation", _expand_members(line.opl, replaced), line.index)
    return out + extra_relations


def _expand_members(opl: bytes, replaced: dict[int, list[int]]) -> bytes:
    fields = _fields(opl)
    members = []
    for member in fields.get(b"M", b"").split(b","):
        if not member:
            continue
        ref, _at, role = member.partition(b"@")
        if ref[:1] == b"w" and int(ref[1:]) in replaced:
            members.extend(b"w%d@%s" % (way_id, role) for way_id in replaced[int(ref[1:])])
        else:
            members.append(member)
    fields[b"M"] = b",".join(members)
    kind_id = opl.split(b" ", 1)[0]
    return _join(fields, "relation", int(kind_id[1:]))


def pack_changesets(lines: list[_Line], limit: int = MAX_CHANGESET_CHANGES) -> list[list[_Line]]:
    """Group changes into changesets of at most ``limit``, never separating a new element from
    what refers to it (negative ids only mean something within one upload)."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_new_id: dict[tuple[str, int], int] = {}
    for i, line in enumerate(lines):
        if line.osm_id < 0:
            by_new_id[(line.kind, line.osm_id)] = i
    kinds = {b"n": "node", b"w": "way", b"r": "relation"}
    for i, line in enumerate(lines):
        find(i)
        for match in _NEG_REF.finditer(line.opl.split(b" ", 1)[1]):
            ref_kind = kinds[match.group(0)[:1]]
            j = by_new_id.get((ref_kind, int(match.group(1))))
            if j is not None:
                parent[find(i)] = find(j)
    units: dict[int, list[_Line]] = {}
    for i, line in enumerate(lines):
        units.setdefault(find(i), []).append(line)
    changesets: list[list[_Line]] = []
    for unit in units.values():
        target = next((cs for cs in changesets if len(cs) + len(unit) <= limit), None)
        if target is None:
            changesets.append(list(unit))
        else:
            target.extend(unit)
    return changesets


def changeset_tags(town: Town, scope: Scope, contributors: list[str], count: int) -> dict[str, str]:
    """The tags an upload's changeset carries (comment, hashtags, source, created_by)."""
    party = Party.objects.filter(town=town, pk=scope.party_id).first() if scope.party_id else None
    hashtags = (
        [party.hashtag]
        if party and party.hashtag
        else sorted({p.hashtag for p in Party.objects.filter(town=town).exclude(hashtag="")})
    )
    hashtags = ["#" + h.lstrip("#") for h in hashtags]
    what = (party.title_en or party.title_fr) if party else town.name
    comment = f"{what}: {count} changes surveyed at Cartoparty mapping parties"
    if hashtags:
        comment += " " + " ".join(hashtags)
    tags = {"comment": comment, "source": "survey", "created_by": generator()}
    if hashtags:
        tags["hashtags"] = ";".join(hashtags)
    if contributors:
        # Credit the residents and agents whose accepted changes these are.
        tags["cartoparty:contributors"] = ";".join(contributors)[:255]
    return tags


def contributors_for(town: Town, scope: Scope) -> list[str]:
    """Display names of the authors of the accepted revisions in scope, alphabetically."""
    revisions = Revision.objects.filter(town=town, status=Revision.Status.ACCEPTED)
    if scope.party_id is not None:
        revisions = revisions.filter(party_id=scope.party_id)
    if scope.since is not None:  # as materialise_scope: review time, else submission time
        revisions = revisions.filter(
            Q(reviewed_at__gte=scope.since) | Q(reviewed_at__isnull=True, created_at__gte=scope.since)
        )
    names = {
        nickname or username
        for nickname, username in revisions.values_list("author__nickname", "author__username").distinct()
    }
    return sorted(names, key=str.casefold)


def changeset_path(path: Path, n: int) -> Path:
    """Changeset 1 is ``path`` itself; the next ones are ``<stem>.2.osc``, ``<stem>.3.osc``..."""
    return path if n == 1 else path.with_name(f"{path.name.removesuffix('.osc')}.{n}.osc")


def _build_osmchange(town: Town, path: Path, scope: Scope, progress: ProgressFn) -> ExportResult:
    scoped = not scope.whole_town
    lines: list[_Line] = []
    for kind in KINDS:
        for _count, data in opl_chunks_for_town(town, kind, changes=True, scoped=scoped):
            for opl in data.splitlines(keepends=True):
                lines.append(_Line(kind, opl, len(lines)))
    progress(50, _("%(count)s changes read") % {"count": len(lines)})
    lines = split_long_ways(lines, town)
    contributors = contributors_for(town, scope)
    changesets = pack_changesets(lines, MAX_CHANGESET_CHANGES)
    if not changesets:
        changesets = [[]]
    counts = {k: 0 for k in KINDS}
    meta = []
    for n, cs in enumerate(changesets, start=1):
        target = changeset_path(path, n)
        tags = changeset_tags(town, scope, contributors, len(cs))
        comment = "changeset tags: " + json.dumps(tags, ensure_ascii=False)
        writer = OsmChangeWriter(target, attribution_for(town), comment=comment)
        writer.start()
        ordered = sorted(cs, key=lambda line: (KINDS.index(line.kind), line.index))
        for kind in KINDS:
            data = b"".join(line.opl for line in ordered if line.kind == kind)
            writer.write_chunk(kind, data)
        stats = writer.end()
        for kind in KINDS:
            counts[kind] += stats.counts[kind]
        meta.append({"file": target.name, "changes": len(cs), "actions": writer.actions, "tags": tags})
    companion = path.with_name(path.name.removesuffix(".osc") + ".changesets.json")
    companion.write_text(
        json.dumps({"changesets": meta, "contributors": contributors}, ensure_ascii=False, indent=2) + "\n"
    )
    return ExportResult(
        paths=[changeset_path(path, n) for n in range(1, len(changesets) + 1)] + [companion],
        counts=counts,
        changesets=meta,
    )


# --- Cached downloads and background builds ----------------------------------------------------
SYNC_MAX_ELEMENTS = 200_000  # smaller exports are built in the request; larger ones by the worker


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
    """mapping.signals.published_change receiver (sent after commit): the cache key moves on."""
    forget_data_version(town)


def download_name(town: Town, fmt: str, scope: Scope) -> str:
    """The stable file name of an export, e.g. ``vaduz.osm.pbf``, ``vaduz-party-3.osc``."""
    stem = town.slug if scope.whole_town else f"{town.slug}-{scope.slug()}"
    return f"{stem}.{FORMATS[fmt].extension}"


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
    if elements_in(town, scope) <= SYNC_MAX_ELEMENTS and not getattr(
        settings, "CARTOPARTY_EXPORTS_ALWAYS_ASYNC", False
    ):
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

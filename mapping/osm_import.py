"""Import an OSM extract (.osm.pbf, .osm, .osm.bz2) into a town's store.

Streaming: libosmium children write the file as OPL (:mod:`mapping.opl`), the importer rewrites
it chunk by chunk into PostgreSQL COPY rows, straight into the store on a town's first import and
into temporary tables otherwise, so memory does not grow with the file. The merge into the store,
the geometries PostGIS must derive or repair and the town boundary are set-based SQL. The whole
import is one transaction: a truncated or hostile file rolls back and changes nothing.

Re-importing the same file changes nothing (rows are only written when the OSM version differs);
importing a newer extract updates the base: new versions, new elements, and elements gone upstream
marked invisible.

Elements with accepted local changes (``version <> base_version``) that upstream changed or deleted
are NOT overwritten: they are collected in temporary tables ``up_node``/``up_way``/``up_relation``
(osm_id, old_base, new_version, gone, tags, shape) and handed, inside the import's transaction, to
the three-way merge (:mod:`mapping.upstream`).
"""

from __future__ import annotations

import bz2
import ctypes
import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.db import connection, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from mapping import opl, opl_binary, upstream
from mapping.gate import users_sql
from mapping.geometry import is_area
from mapping.models import Element, Node
from mapping.signals import announce_published_change
from mapping.store.derived import (
    GeometryReport,
    rebuild_relation_geometries,
    rebuild_way_geometries,
)
from mapping.store.load import DELETE_SQL, DIRECT_COPY_SQL, MERGE_SQL
from parties.models import Town

log = logging.getLogger(__name__)

SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2")
TYPE_NAMES = {"n": "node", "w": "way", "r": "relation"}
# OSM XML never needs a DTD; refusing one is how we refuse entity-expansion and external entities.
HOSTILE_XML_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


# handler(town, psycopg_cursor) called after the merge; see the module docstring.


class ImportError_(Exception):  # the trailing underscore: not shadowing the builtin ImportError
    """The file cannot be imported; the message says why. Nothing was changed."""


@dataclass
class ImportSummary:
    town: Town
    read: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    created: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    deleted: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    geometry: GeometryReport = field(default_factory=GeometryReport)
    seconds: float = 0.0
    # Wall seconds per step (``import_osm -v 2`` prints them): where a slow import spends its time.
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started

    @property
    def changed(self) -> bool:
        return any(sum(d.values()) for d in (self.created, self.updated, self.deleted))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImportError_(_("File not found: %(path)s") % {"path": path})
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise ImportError_(
            _("Unsupported file type: %(name)s (expected .osm.pbf, .osm or .osm.bz2)") % {"name": path.name}
        )
    if name.endswith((".osm", ".osm.bz2")):
        opener = bz2.open if name.endswith(".bz2") else open
        try:
            with opener(path, "rb") as fh:
                head = fh.read(1 << 16)
        except (OSError, EOFError) as exc:
            raise ImportError_(
                _("Cannot read %(name)s: %(error)s") % {"name": path.name, "error": exc}
            ) from exc
        if any(marker in head for marker in HOSTILE_XML_MARKERS):
            raise ImportError_(_("Refused: the XML declares a DTD or entities, which OSM files never do."))
        if b"<osm" not in head:
            raise ImportError_(_("Not an OSM XML file: no <osm> root element."))


TEMP_TABLES = """
DROP TABLE IF EXISTS imp_node, imp_way, imp_relation, chg_node, chg_way, chg_relation, bld_way;
CREATE TEMP TABLE imp_node (osm_id bigint, version int, tags jsonb, lon float8, lat float8, opl text) ON COMMIT DROP;
CREATE TEMP TABLE imp_way (osm_id bigint, version int, tags jsonb, nodes bigint[], opl text) ON COMMIT DROP;
CREATE TEMP TABLE imp_relation (osm_id bigint, version int, tags jsonb, members jsonb, opl text) ON COMMIT DROP;
CREATE TEMP TABLE chg_node (osm_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE chg_way (id bigint) ON COMMIT DROP;
CREATE TEMP TABLE chg_relation (id bigint) ON COMMIT DROP;
"""

BINARY = "(FORMAT BINARY)"  # COPY statements ending so take rows from mapping.opl_binary
COPY_SQL = {
    "node": "COPY imp_node (osm_id, version, lon, lat, tags, opl) FROM STDIN (FORMAT BINARY)",
    "way": "COPY imp_way (osm_id, version, tags, nodes, opl) FROM STDIN",
    "relation": "COPY imp_relation (osm_id, version, tags, members, opl) FROM STDIN",
}

# Locally changed elements that upstream changed or deleted: set aside for the handlers, and
# removed from imp_* so the merge does not overwrite them.
SHAPE = {"node": "jsonb_build_array(i.lon, i.lat)", "way": "to_jsonb(i.nodes)", "relation": "i.members"}
UPSTREAM_SQL = {
    t: f"""
        DROP TABLE IF EXISTS up_{t};
        CREATE TEMP TABLE up_{t} ON COMMIT DROP AS
        SELECT e.osm_id, e.base_version AS old_base, i.version AS new_version, i.osm_id IS NULL AS gone,
               i.tags, {SHAPE[t]} AS shape
        FROM mapping_{t} e LEFT JOIN imp_{t} i ON i.osm_id = e.osm_id
        WHERE e.town_id = %(town)s AND e.osm_id > 0 AND e.base_version IS NOT NULL
          AND e.version <> e.base_version
          AND (i.osm_id IS NULL OR i.version <> e.base_version);
        DELETE FROM imp_{t} i USING up_{t} u WHERE i.osm_id = u.osm_id;
    """
    for t in ("node", "way", "relation")
}

# Imported elements no longer in the extract that a feature changed here still uses (a node of a way
# drawn here, a way of a relation changed here) are not deleted under it (mapping.gate's reference
# rule): they join the locally changed elements, so the upstream merge asks an agent what to do.
GONE_IDS = {
    t: f"""ARRAY(SELECT g.osm_id FROM mapping_{t} g WHERE g.town_id = %(town)s AND g.osm_id > 0 AND g.visible
            AND NOT EXISTS (SELECT 1 FROM imp_{t} i WHERE i.osm_id = g.osm_id)
            AND NOT EXISTS (SELECT 1 FROM up_{t} u WHERE u.osm_id = g.osm_id))"""
    for t in ("node", "way")
}
HOLD_SQL = {
    t: f"""
        INSERT INTO up_{t} (osm_id, old_base, new_version, gone)
        SELECT e.osm_id, e.base_version, NULL, true FROM mapping_{t} e
        WHERE e.town_id = %(town)s AND e.osm_id IN ({users_sql(t, ids=GONE_IDS[t], changed_here=True)})
    """
    for t in ("node", "way")
}


def _finish_direct_ways(cur, town_id: int, pending: list[int], summary: ImportSummary) -> None:
    """After a first import: derive in PostGIS the ways the stream could not build (or found invalid)."""
    if len(pending) > 10_000:  # a hash join to the nodes just loaded beats index lookups
        cur.execute("ANALYZE mapping_node")
    if pending:
        cur.execute(
            "SELECT id FROM mapping_way WHERE town_id = %s AND osm_id = ANY(%s::bigint[])", [town_id, pending]
        )
        rebuild_way_geometries([r[0] for r in cur.fetchall()])
    cur.execute(
        "SELECT geom_status, count(*) FROM mapping_way WHERE town_id = %s GROUP BY geom_status", [town_id]
    )
    for status, n in cur.fetchall():
        if status != "none":
            setattr(summary.geometry, status, getattr(summary.geometry, status) + n)


class _CopyFeeder:
    """Feeds COPY from a thread, so that decoding the next chunk overlaps loading the last one.

    psycopg's ``write()`` returns once the server has taken the data; decoding and loading are each
    about half the work, and done in turn they took twice as long as side by side. The queue holds
    a few chunks, so memory stays flat. Until :meth:`close`, only this thread uses the connection.
    A new COPY starts whenever the target changes (an unsorted file switches back and forth); a
    statement ending in :data:`BINARY` takes binary rows (header and trailer written here).
    """

    def __init__(self, cur, depth: int = 4) -> None:
        self.cur = cur
        # (COPY statement, rows, cost), or (None, callback, 0) for after_written(), or None to finish.
        self.queue: queue.Queue[tuple[str | None, str | bytes | Callable[[], None], int] | None] = (
            queue.Queue(maxsize=depth)
        )
        self.error: BaseException | None = None
        self.queued_cost = 0  # estimated microseconds of database work queued (see PG_COST)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="copy-feeder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        current, copy_cm, copy = None, None, None
        item: tuple | None = ()
        try:
            while (item := self.queue.get()) is not None:
                sql, rows, cost = item
                if sql is None:
                    assert callable(rows)  # (None, callback, 0) from after_written()
                    rows()  # an after_written() callback: everything before it is written
                    continue
                if sql != current:
                    self._end(current, copy_cm, copy)
                    copy_cm, current = self.cur.copy(sql), sql
                    copy = copy_cm.__enter__()
                    if sql.endswith(BINARY):
                        copy.write(opl_binary.HEADER)
                assert copy is not None and isinstance(rows, str | bytes)  # (sql, rows, cost) from write()
                copy.write(rows)
                with self.lock:
                    self.queued_cost -= cost
            self._end(current, copy_cm, copy)
        except BaseException as exc:  # handed to the importing thread by write() or close()
            self.error = exc
            while item is not None:  # until close(): keep the producer from blocking
                item = self.queue.get()

    @staticmethod
    def _end(sql: str | None, copy_cm, copy) -> None:
        """End the COPY under way, if any (a binary one with its trailer)."""
        if copy_cm is None:
            return
        if sql is not None and sql.endswith(BINARY):
            copy.write(opl_binary.TRAILER)
        copy_cm.__exit__(None, None, None)

    def write(self, sql: str, rows: str | bytes, cost: int = 0) -> None:
        """Queue ``rows`` for ``sql``; ``cost`` estimates the database's work, for :attr:`queued_cost`."""
        if self.error is not None:
            raise self.error
        with self.lock:
            self.queued_cost += cost
        self.queue.put((sql, rows, cost))

    def after_written(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the feeder's thread) once everything written so far is sent."""
        self.queue.put((None, callback, 0))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class _Sources:
    """Chunks of several OPL streams, each read by its own thread, at most ``ahead`` chunks ahead.

    Why: on a first import the ways (the importer's heavy part) and the nodes (the database's heavy
    part) come from two libosmium children started together. Taking from one or the other as the
    database needs (:func:`_first_import_chunks`) keeps the importer and PostgreSQL both busy, where
    a ways phase then a nodes phase left one of them waiting for the other most of the time.
    """

    def __init__(self, streams: dict[str, Generator[str, None, None]], ahead: int = 2) -> None:
        self.cond = threading.Condition()
        self.ready: dict[str, deque[str]] = {name: deque() for name in streams}
        self.running = set(streams)
        self.error: BaseException | None = None
        self.stopped = False
        self.ahead = ahead
        self.threads = [
            threading.Thread(target=self._pump, args=(name, chunks), name=f"opl-{name}", daemon=True)
            for name, chunks in streams.items()
        ]
        for thread in self.threads:
            thread.start()

    def _pump(self, name: str, chunks: Generator[str, None, None]) -> None:
        try:
            for chunk in chunks:
                with self.cond:
                    while len(self.ready[name]) >= self.ahead and not self.stopped:
                        self.cond.wait()
                    if self.stopped:
                        break
                    self.ready[name].append(chunk)
                    self.cond.notify_all()
        except BaseException as exc:  # raised in the importing thread by take()
            with self.cond:
                self.error = self.error or exc
        finally:
            chunks.close()  # stops the child if it is still running
            with self.cond:
                self.running.discard(name)
                self.cond.notify_all()

    def take(self, order: tuple[str, ...]) -> tuple[str, str] | None:
        """The next chunk of the first stream in ``order`` that has one ready, waiting if none has.

        None once every stream is exhausted; a stream's error is raised here.
        """
        with self.cond:
            while True:
                if self.error is not None:
                    raise self.error
                for name in order:
                    if self.ready[name]:
                        self.cond.notify_all()
                        return name, self.ready[name].popleft()
                if not self.running:
                    return None
                self.cond.wait()

    def exhausted(self, name: str) -> bool:
        with self.cond:
            return name not in self.running and not self.ready[name]

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        for thread in self.threads:
            thread.join()


# What loading one object costs PostgreSQL, in microseconds (measured on the demo extract: the
# indexes make most of it). Only the proportions and BACKLOG matter: enough work queued for the
# database to stay busy while the importer decodes the next chunk of ways (~15 ms for a chunk of
# 256 KiB), and less than the feeder's queue holds (4 chunks of nodes: some 60 ms), or nodes would
# always come first and the ways, whose index merge is the import's last wait, last.
PG_COST = {"node": 3, "way": 10, "relation": 20}
BACKLOG = 30_000


def _first_import_chunks(
    path: Path, feeder: _CopyFeeder, after_ways: Callable[[], None] | None
) -> Generator[str, None, None]:
    """OPL chunks of ways and relations (with node locations) and of nodes, interleaved.

    Per object, PostgreSQL's work is mostly index entries, and nodes are many; the importer's work
    is mostly building way geometries. So the importer feeds the database nodes until it has
    :data:`BACKLOG` of work queued, and decodes ways meanwhile: neither waits for the other, and the
    database, the busier of the two, never runs dry. ``after_ways`` is called (by the feeder) once the
    last way is written, so that the way index is merged while the remaining nodes load.
    """
    sources = _Sources({"ways": opl.stream_opl(path, "ways"), "nodes": opl.stream_opl(path, "nodes")})
    try:
        ways_left = after_ways  # the callback, until it is handed to the feeder
        while item := sources.take(("ways", "nodes") if feeder.queued_cost >= BACKLOG else ("nodes", "ways")):
            yield item[1]
            if ways_left is not None and sources.exhausted("ways"):
                feeder.after_written(ways_left)
                ways_left = None
        if ways_left is not None:  # the way reader was still closing when the last chunk came
            feeder.after_written(ways_left)
    finally:
        sources.stop()


def _stream(
    path: Path,
    cur,
    summary: ImportSummary,
    progress: Callable[[dict[str, int]], None] | None,
    direct_town: int | None = None,
    after_ways: Callable[[], None] | None = None,
) -> list[int]:
    """COPY every object into the staging tables, or straight into the store on a first import.

    On a first import (``direct_town``) nodes cannot conflict, so they go straight into the store,
    and ways too, with the geometry built from the node locations in the stream and checked by GEOS
    (:func:`mapping.opl.way_rows`). Returns the ways left without geometry (a node outside the
    extract, an invalid shape...) for PostGIS to derive and repair.
    """
    read = summary.read
    pending: list[int] = []
    if direct_town:

        def way_row(osm_id: str, version: str, tags: str, nodes: str, geom: str | None, text: str) -> str:
            geom, status = (geom, "ok") if geom else ("\\N", "none")
            return (
                f"{direct_town}\t{osm_id}\t{version}\t{version}\t{tags}\t{nodes}\t{geom}\t{status}\t{text}\n"
            )

    else:

        def way_row(osm_id: str, version: str, tags: str, nodes: str, geom: str | None, text: str) -> str:
            return f"{osm_id}\t{version}\t{tags}\t{nodes}\t{text}\n"

    copy_sql = {**COPY_SQL, **(DIRECT_COPY_SQL if direct_town else {})}
    feeder = _CopyFeeder(cur)
    chunks = _first_import_chunks(path, feeder, after_ways) if direct_town else opl.stream_opl(path, "all")
    try:
        for chunk in chunks:
            for letter, run in opl.object_runs(chunk):
                kind = TYPE_NAMES.get(letter)
                if kind is None:  # changesets: not map data
                    continue
                rows: str | bytes
                if kind == "node":  # binary rows, built column by column (mapping.opl_binary)
                    nodes = opl_binary.node_arrays(run)
                    rows, count = opl_binary.node_rows(nodes, direct_town), len(nodes)
                elif kind == "way":
                    rows, count, left = opl.way_rows(run, way_row, is_area if direct_town else None)
                    pending.extend(left)
                else:
                    rows, count = opl.relation_rows(run)
                if count:
                    feeder.write(copy_sql[kind], rows, count * PG_COST[kind])
                    read[kind] += count
            if progress:
                progress(read)
    except opl.OplError as exc:
        raise ImportError_(
            _("The file is truncated or not a valid OSM file: %(error)s") % {"error": exc}
        ) from exc
    finally:
        chunks.close()
        feeder.close()
    return pending


# The town's extent: its ways and tagged nodes (a way's box is stored with its geometry, so this
# reads a tenth of the rows that all nodes would), or all its nodes if it has neither.
TOWN_EXTENT_SQL = """
    UPDATE parties_town SET boundary = (
      SELECT ST_Multi(ST_Envelope(coalesce(
        (SELECT ST_Extent(g)::geometry FROM (
           SELECT geom AS g FROM mapping_way WHERE town_id = %(town)s AND visible AND geom IS NOT NULL
           UNION ALL
           SELECT geom FROM mapping_node WHERE town_id = %(town)s AND visible AND tags <> '{}'::jsonb) AS f),
        (SELECT ST_Extent(geom)::geometry FROM mapping_node WHERE town_id = %(town)s AND visible)))))
    WHERE id = %(town)s
"""


def _announce_change(cur, town: Town) -> None:
    """Send ``published_change`` after commit over the town's extent before and after the import.

    Map-data and base-map tiles cached before (even empty ones, before a first import) are
    invalidated by it, as after any accepted edit; a whole town's extent makes the map-data cache
    move the town's generation rather than count tiles.
    """
    cur.execute(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT boundary AS b FROM parties_town"
        " WHERE id = %s) AS t WHERE b IS NOT NULL",
        [town.pk],
    )
    extents = [e.extent for e in (town.boundary,) if e is not None] + [tuple(r) for r in cur.fetchall()]
    announce_published_change(Element, town, extents)


# About 250 bytes of pending-list entries a way (~10 nodes): 16,000 ways fill the default 4 MB.
GIN_MERGE_MIN_WAYS = 16_000


class _PendingListMerge(threading.Thread):
    """Merge the way-node GIN index's pending list from a second connection, beside the import.

    Why: inserting one way into the GIN index on ``nodes`` (the "which ways use this node" lookup)
    cost more than everything else about the way, 3 s of a 1.5 M-object import. The import
    transaction sets a large ``gin_pending_list_limit`` so ways are appended to the index's pending
    list (cheap), and this thread merges that list in one sorted pass while the import goes on with
    relations and the town boundary: the work is the same, on the other core (merging round after
    round while ways were still loading was slower: the two backends contend for the index). Index entries are not transactional, so the merge needs
    nothing from the import's transaction; if the import rolls back, VACUUM removes the entries as
    after any aborted insert. Best effort: on failure the entries are merged by the next
    autovacuum, and lookups stay correct meanwhile.
    """

    def __init__(self) -> None:
        super().__init__(name="gin-pending-merge", daemon=True)
        self.params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k not in ("cursor_factory", "context")
        }

    def start_if_large(self, ways: int) -> None:
        """Merge only a list larger than PostgreSQL's own default limit (4 MB, some 16,000 ways).

        A smaller list is what ordinary inserts leave pending too, until autovacuum merges it; for
        a town-sized extract the merge would be the last thing the import waits for.
        """
        if ways >= GIN_MERGE_MIN_WAYS:
            self.start()

    def finish(self) -> None:
        if self.ident is not None:
            self.join()

    def run(self) -> None:
        try:
            with psycopg.connect(**self.params, autocommit=True) as conn:
                # gin_clean_pending_list collects entries in maintenance_work_mem: more, fewer passes.
                conn.execute("SET maintenance_work_mem = '512MB'")
                conn.execute("SELECT gin_clean_pending_list('way_nodes_gin'::regclass)")
        except psycopg.Error as exc:
            log.warning("GIN pending list left to autovacuum: %s", exc)


def _merge(cur, town: Town, summary: ImportSummary, first_import: bool) -> None:
    """Upsert staged elements into the store; set aside local edits that upstream changed."""
    for kind in ("node", "way", "relation"):
        if first_import and kind != "relation":  # already copied into the store
            summary.created[kind] = summary.read[kind]
            continue
        cur.execute(f"CREATE INDEX ON imp_{kind} (osm_id)")
        cur.execute(f"ANALYZE imp_{kind}")
        cur.execute(UPSTREAM_SQL[kind], {"town": town.pk})
        cur.execute(MERGE_SQL[kind], {"town": town.pk})
        row = cur.fetchone()
        summary.created[kind], summary.updated[kind] = row[:2]
        if kind == "way":
            for status, n in zip(("ok", "repaired", "incomplete", "invalid"), row[2:], strict=True):
                setattr(summary.geometry, status, getattr(summary.geometry, status) + n)
        if not first_import:  # nothing can have vanished from an empty town
            if kind in HOLD_SQL:
                cur.execute(HOLD_SQL[kind], {"town": town.pk})
            cur.execute(DELETE_SQL[kind], {"town": town.pk})
            summary.deleted[kind] = cur.fetchone()[0]
    if not first_import:
        upstream.reconcile_upstream(town, cur)


def _rebuild_dependents(cur, town_id: int, summary: ImportSummary, first_import: bool) -> None:
    """Geometry of ways whose nodes moved, and of relations whose member ways changed."""
    # Fresh statistics, or the planner picks nested loops over a bulk load.
    cur.execute("ANALYZE chg_node; ANALYZE chg_way; ANALYZE chg_relation")
    # Only the join columns: statistics on geometry and node lists cost more than the joins save.
    cur.execute("ANALYZE mapping_way (town_id, osm_id, visible); ANALYZE mapping_relation")
    if not first_import:
        cur.execute("ANALYZE mapping_node")
    # Ways using a node that changed, if the way itself did not (those got their geometry in the
    # merge); none on a first import, where every way is new.
    cur.execute(
        """
        SELECT DISTINCT w.id FROM mapping_way w
        CROSS JOIN LATERAL unnest(w.nodes) AS r(ref)
        JOIN chg_node c ON c.osm_id = r.ref
        WHERE w.town_id = %(town)s AND NOT %(first)s
          AND NOT EXISTS (SELECT 1 FROM chg_way cw WHERE cw.id = w.id)
        """,
        {"town": town_id, "first": first_import},
    )
    way_pks = [r[0] for r in cur.fetchall()]
    rebuild_way_geometries(way_pks, summary.geometry)
    cur.execute("CREATE TEMP TABLE bld_way (id bigint) ON COMMIT DROP")
    cur.execute("INSERT INTO bld_way SELECT unnest(%s::bigint[]) UNION SELECT id FROM chg_way", [way_pks])
    cur.execute(
        """
        SELECT id FROM chg_relation
        UNION
        SELECT r.id FROM mapping_relation r
        CROSS JOIN LATERAL jsonb_array_elements(r.members) AS m
        JOIN mapping_way w ON w.town_id = r.town_id AND w.osm_id = (m->>'ref')::bigint
        JOIN bld_way b ON b.id = w.id
        WHERE r.town_id = %(town)s AND m->>'type' = 'way' AND NOT %(first)s
        """,
        {"town": town_id, "first": first_import},
    )
    rebuild_relation_geometries([r[0] for r in cur.fetchall()], summary.geometry)


@contextmanager
def _short_gil_slices() -> Iterator[None]:
    """Let the importing thread hold the GIL for 0.2 ms at a time instead of 5 ms, while streaming.

    The threads that read the children's pipes and feed COPY need the GIL for a moment per chunk,
    and with the default interval they queued behind the decoding thread: PostgreSQL sat idle 40 %
    of the time. With 0.2 ms the 1.5 M-object stream took 9 s instead of 12 (0.1 ms and less added
    more switching than it saved).
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _malloc_for_chunks() -> None:
    """Fixed glibc thresholds: blocks under 1 MiB from the heap, kept for reuse; larger ones mmapped.

    By default glibc raises its mmap threshold each time a large block is freed, and megabyte chunks
    then fragmented the heap: peak memory grew with the file (135 MiB for the demo extract, 220 MiB
    for 20 times its size). Fixed at glibc's smallest (128 KiB), memory was flat but every block of
    a chunk was a fresh mapping, zeroed page by page by the kernel: 1.4 s of system time for the
    20x file. With 256 KiB chunks (:data:`mapping.opl.CHUNK`) everything a chunk makes is under
    1 MiB: from the heap, which keeps up to 2 MiB free at its top rather than giving it back and
    faulting it in again (0.5 s of system time, and a lower peak: 140 MiB for 20x, 155 before).
    """
    with suppress(OSError, AttributeError):  # not glibc: nothing to tune
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2 << 20)  # M_TRIM_THRESHOLD


def import_osm(
    path: str | Path,
    town_slug: str,
    town_name: str | None = None,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> ImportSummary:
    """Import ``path`` into the town ``town_slug`` (created if needed), atomically.

    Raises :class:`ImportError_` with a user-facing message; the database is then unchanged.
    """
    path = Path(path)
    _check_file(path)
    _malloc_for_chunks()
    started = time.monotonic()
    with transaction.atomic():
        town, created = Town.objects.get_or_create(
            slug=slugify(town_slug) or town_slug, defaults={"name": town_name or town_slug.title()}
        )
        if town_name and town.name != town_name and not created:
            town.name = town_name
            town.save(update_fields=["name"])
        summary = ImportSummary(town=town)
        with connection.cursor() as django_cur:
            cur = django_cur.cursor  # the psycopg cursor, for COPY
            cur.execute(TEMP_TABLES)
            cur.execute("SET LOCAL gin_pending_list_limit = '1GB'")  # see _PendingListMerge
            # As osm2pgsql does: the commit does not wait for the WAL to reach the disk (0.5 s for a
            # 1.5 M-object import). A crash in that instant loses the whole import, atomically, and
            # it is run again; edits by people keep the default.
            cur.execute("SET LOCAL synchronous_commit = off")
            first_import = not Node.objects.filter(town=town).exists()
            pending_merge = _PendingListMerge()
            try:

                def ways_written() -> None:
                    pending_merge.start_if_large(summary.read["way"])

                with summary.phase("stream"), _short_gil_slices():
                    direct = town.pk if first_import else None
                    pending = _stream(path, cur, summary, progress, direct, ways_written)
                if not any(summary.read.values()):
                    raise ImportError_(_("The file contains no OSM data."))
                if first_import:
                    with summary.phase("ways"):
                        _finish_direct_ways(cur, town.pk, pending, summary)
                with summary.phase("merge"):
                    _merge(cur, town, summary, first_import)
                if not first_import:  # the merged ways are in now
                    pending_merge.start_if_large(summary.created["way"] + summary.updated["way"])
                if summary.changed:
                    with summary.phase("dependents"):
                        _rebuild_dependents(cur, town.pk, summary, first_import)
                    with summary.phase("boundary"):
                        cur.execute(TOWN_EXTENT_SQL, {"town": town.pk})
                        _announce_change(cur, town)
            finally:
                with summary.phase("index"):
                    pending_merge.finish()
            # ON COMMIT DROP is not enough when we run inside an outer transaction (a savepoint).
            cur.execute(
                "DROP TABLE IF EXISTS imp_node, imp_way, imp_relation, chg_node, chg_way, chg_relation, bld_way, "
                "up_node, up_way, up_relation"
            )
        commit_started = time.monotonic()
    summary.phases["commit"] = time.monotonic() - commit_started
    summary.seconds = time.monotonic() - started
    return summary

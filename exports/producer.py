"""PostgreSQL builds an export's chunks on two connections at once, and they come out in file order.

Why: building the OPL (or GeoJSON) text of a town is most of an export's CPU, and one backend
runs on one core: with one connection, a 1M-object ``.osm.pbf`` waited on one core of PostgreSQL
while the other core had little to do (docs/benchmarks.md, "Exports"). Here two connections share
one snapshot (``pg_export_snapshot()`` / ``SET TRANSACTION SNAPSHOT``: both read exactly the same
data, the file is as consistent as with one), each builds every other chunk, and the caller
receives the chunks in order.

How a chunk is cut: the rows of one kind and one id direction are taken in index order, ``limit``
at a time. A worker first looks up where its chunk ends (the id ``limit`` rows on, an index-only
scan of the unique (town, osm_id) index, a few milliseconds), hands the rest of the range to the
other worker, then builds its chunk (``after < osm_id <= end``). The filter (visible, changed...)
applies to the chunk, not to the cut, so a chunk holds at most ``limit`` rows. Workers never run
more than :data:`WINDOW` chunks ahead of the caller: memory stays at a few chunks whatever the town.

Only a whole-town export whose snapshot the build owns can use a second connection: a narrowed
scope lives in temporary tables of the build's own connection, and data written by the caller's
uncommitted transaction (a test's) is not visible to another connection. Those read through the
build's connection alone (``snapshot=None``), with the same chunks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Loader
from psycopg.pq import Format

log = logging.getLogger(__name__)

# Chunks built ahead of the one the caller is writing (both workers together): memory bound.
WINDOW = 4

# How the chunk queries are planned, on both connections, for the chunks only.
# - An ordered index range scan, never a bitmap scan and a sort: the planner chose the latter on
#   a town whose rows are not stored in id order, and sorting the built text cost about a sixth
#   of a node chunk's time; string_agg relies on the order (see Pass.chunk_sql).
# - Prepared statements with a generic plan: the cut and chunk queries run again and again with
#   other ids; planning each one cost a tenth of a 1M-object export's database time.
CHUNK_SETTINGS = (
    ("enable_bitmapscan", "off"),
    ("enable_seqscan", "off"),
    ("plan_cache_mode", "force_generic_plan"),
)


def _set_chunk_settings(conn: psycopg.Connection) -> None:
    """:data:`CHUNK_SETTINGS` for the rest of ``conn``'s transaction (or until :func:`_reset_chunk_settings`)."""
    for name, value in CHUNK_SETTINGS:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def _reset_chunk_settings(conn: psycopg.Connection) -> None:
    for name, _value in CHUNK_SETTINGS:
        conn.execute(sql.SQL("RESET {}").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Pass:
    """The rows of one kind in one id direction: what a run of chunks reads, in order.

    ``line`` is the SQL expression of one row's text (``e`` is the row), ``sep`` the SQL literal
    put between two rows of a chunk, ``where`` the rows' filter beyond town and id range, and
    ``params`` the values of the named parameters ``line`` uses.
    """

    kind: str
    table: str
    where: str
    line: str
    negative: bool
    sep: str = "''"
    params: tuple[tuple[str, Any], ...] = ()

    def cut_sql(self) -> str:
        """The id that ends the chunk starting after %(after)s, or no row if the rest fits."""
        sign, order = ("<", "DESC") if self.negative else (">", "ASC")
        return (
            f"SELECT e.osm_id FROM {self.table} e WHERE e.town_id = %(town)s AND e.osm_id {sign} %(after)s"
            f"{'' if self.negative else ' AND e.osm_id > 0'} ORDER BY e.osm_id {order} OFFSET %(skip)s LIMIT 1"
        )

    def chunk_sql(self, bounded: bool) -> str:
        """Count and text of the rows after %(after)s (up to %(end)s if ``bounded``), in order.

        No ORDER BY inside string_agg: its input is an ordered index range scan, which PostgreSQL
        aggregates in that order (sorting again cost about a tenth of the query); the osmium checks
        in tests/exports (check-refs, apply-changes + diff, golden files) pin it.
        """
        sign, order, stop = ("<", "DESC", ">=") if self.negative else (">", "ASC", "<=")
        return f"""
            SELECT count(*), string_agg(s.line, {self.sep})
            FROM (SELECT {self.line} AS line FROM {self.table} e
                  WHERE e.town_id = %(town)s AND {self.where} AND e.osm_id {sign} %(after)s
                    {f"AND e.osm_id {stop} %(end)s" if bounded else ""}
                    {"" if self.negative else "AND e.osm_id > 0"}
                  ORDER BY e.osm_id {order}) s
        """


class _TextAsBytes(Loader):
    """Text results as the bytes PostgreSQL sent (UTF-8): a chunk is never decoded into a str.

    (Before, ``convert_to(..., 'UTF8')`` made the server copy every chunk once more into a bytea:
    about a tenth of its CPU for a PBF.)
    """

    format = Format.BINARY

    def load(self, data: Any) -> bytes:
        return bytes(data)


def raw_cursor(conn: psycopg.Connection) -> psycopg.Cursor:
    """A cursor on ``conn`` whose text results arrive as bytes (binary protocol)."""
    cur = psycopg.Cursor(conn)
    cur.adapters.register_loader("text", _TextAsBytes)
    return cur


class _Plan:
    """The chunks still to cut: the passes in order and where the current one has got to."""

    def __init__(self, passes: list[Pass], town_id: int, limit: int) -> None:
        self.passes, self.town_id, self.limit = passes, town_id, limit
        self.index, self.after, self.seq = 0, 0, 0

    def next_chunk(self, cur: psycopg.Cursor[Any]) -> tuple[int, Pass, dict[str, Any]] | None:
        """Cut the next chunk (on ``cur``): its sequence number, pass and query parameters."""
        if self.index >= len(self.passes):
            return None
        step = self.passes[self.index]
        params = {"town": self.town_id, "after": self.after, "skip": self.limit - 1}
        row = cur.execute(step.cut_sql(), params, prepare=True).fetchone()
        end = row[0] if row else None
        chunk = (self.seq, step, {**dict(step.params), "town": self.town_id, "after": self.after, "end": end})
        self.seq += 1
        if end is None:  # this pass is done: the next starts from the beginning of its ids
            self.index, self.after = self.index + 1, 0
        else:
            self.after = end
        return chunk


class _Chunks:
    """The workers' results, handed to the caller in sequence order (see the module docstring)."""

    def __init__(
        self, plan: _Plan, own: psycopg.Connection, second: Callable[[], psycopg.Connection] | None = None
    ) -> None:
        self.plan, self.own = plan, own
        self.cond = threading.Condition()
        self.ready: dict[int, tuple[str, int, bytes]] = {}
        self.taken = 0  # sequence number of the next chunk the caller takes
        self.cut = threading.Lock()
        sources: list[psycopg.Connection | Callable[[], psycopg.Connection]] = [own]
        if second is not None:
            sources.append(second)
        self.workers_left = len(sources)
        self.total: int | None = None  # number of chunks, once the plan is exhausted
        self.error: BaseException | None = None
        self.stopped = False
        self.threads = [
            threading.Thread(target=self._work, args=(source,), name=f"export-chunks-{n}", daemon=True)
            for n, source in enumerate(sources)
        ]

    def _work(self, source: psycopg.Connection | Callable[[], psycopg.Connection]) -> None:
        """Cut and build chunks until none is left; ``source`` is a connection, or opens one (then
        in this thread, while the other worker already builds the first chunk; closed at the end)."""
        opened: psycopg.Connection | None = None
        try:
            if isinstance(source, psycopg.Connection):
                conn = source
            else:
                try:
                    conn = opened = source()
                except psycopg.Error as exc:
                    # No connection to spare, or the build's transaction already failed (its own
                    # error is the one to report): the first worker builds every chunk, or fails.
                    log.warning("export chunks on one connection: %s", exc)
                    return
            with raw_cursor(conn) as cur:
                while True:
                    with self.cut:  # one worker cuts at a time: a chunk starts where the last ended
                        if self.stopped:
                            return
                        chunk = self.plan.next_chunk(cur)
                        if chunk is None:
                            with self.cond:
                                self.total = self.plan.seq
                                self.cond.notify_all()
                            return
                    seq, step, params = chunk
                    with self.cond:
                        while seq >= self.taken + WINDOW and not self.stopped:
                            self.cond.wait()
                        if self.stopped:
                            return
                    sql_text = step.chunk_sql(params["end"] is not None)
                    row = cur.execute(sql_text, params, binary=True, prepare=True).fetchone()
                    assert row is not None  # an aggregate: always one row
                    count, data = row
                    with self.cond:
                        self.ready[seq] = (step.kind, count, data or b"")
                        self.cond.notify_all()
        except BaseException as exc:  # raised in the caller's thread by __iter__
            with self.cond:
                self.error = self.error or exc
                self.stopped = True
                self.cond.notify_all()
        finally:
            if opened is not None:
                opened.close()  # its read-only transaction ends with it
            with self.cond:
                self.workers_left -= 1
                self.cond.notify_all()

    def __iter__(self) -> Iterator[tuple[str, int, bytes]]:
        _set_chunk_settings(self.own)
        for thread in self.threads:
            thread.start()
        try:
            while True:
                with self.cond:
                    while self.taken not in self.ready:
                        if self.error is not None:
                            raise self.error
                        if self.total is not None and self.taken >= self.total:
                            return
                        if not self.workers_left:
                            raise RuntimeError("the export's chunk workers stopped early")
                        self.cond.wait()
                    item = self.ready.pop(self.taken)
                    self.taken += 1
                    self.cond.notify_all()
                if item[1]:
                    yield item
        finally:
            with self.cond:
                self.stopped = True
                self.cond.notify_all()
            for thread in self.threads:
                thread.join()
            if self.own.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                _reset_chunk_settings(self.own)  # the build's later queries plan as usual


def chunks(
    own: psycopg.Connection,
    passes: list[Pass],
    town_id: int,
    limit: int,
    second: Callable[[], psycopg.Connection] | None = None,
) -> Generator[tuple[str, int, bytes], None, None]:
    """(kind, count, text) of every non-empty chunk of ``passes``, in order.

    ``own`` is the build's connection (inside its transaction); ``second``, when given, opens
    another connection already in the same snapshot, which builds every other chunk. It is closed
    (its read-only transaction rolled back) when the iteration ends. If it cannot be opened (the
    server has no connection to spare), ``own`` builds every chunk: slower, the same file.
    A caller that stops early must ``close()`` the generator before it ends ``own``'s transaction:
    that stops the workers (each finishes the query it is running).
    """
    yield from _Chunks(_Plan(passes, town_id, limit), own, second)


def snapshot_connection(params: dict[str, Any], snapshot: str) -> Callable[[], psycopg.Connection]:
    """A function opening a connection that reads ``snapshot`` (exported by the build's transaction,
    which must stay open meanwhile), read-only, with the build's session settings."""

    def connect() -> psycopg.Connection:
        conn = psycopg.connect(**params, autocommit=True)  # the transaction is begun by hand
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            conn.execute("SET LOCAL jit = off")
            _set_chunk_settings(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    return connect

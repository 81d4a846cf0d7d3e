"""Load and overload: a long crowded evening, then 1,000 residents at once, against gunicorn.

    .venv/bin/python bench/load.py [--quick] [--rounds 3] [--minutes 10] [--residents 300]
                                   [--viewers 500] [--overload 1000] [--overload-seconds 120]
                                   [--workers 3] [--threads 8] [--cold-tiles] [--trace]

Reuses bench/event_load.py (its database, world, gunicorn and asyncio HTTP client), with every
request carrying ``X-Request-Start``, stamped as it leaves the client, as the reverse proxy would
(see config.security's load shedding).

1. Machine state first (bench/machine.py): the idle share of the cores over the 5 s before anything
   starts, and the load average. A run on a machine that was not idle, or where other processes took
   more than a tenth of the cores meanwhile, prints "BUSY MACHINE: figures not valid".
2. ``--rounds`` rounds (default 3, at least 3), each from the same start: the evening's edits forgotten, the
   map-data tiles forgotten and the party area's warmed again, a CHECKPOINT, a short wrk on /healthz.
   Then:
   a. Evening: 300 residents (a save every ~10 s with bursts, then a reload of their pending layer) +
      500 viewers panning (a move every 1-3 s, asking for the map-data tiles new to the view, as the
      page does; see bench/event_load.py) for --minutes (default 10; --quick: 1).
   b. Overload: --overload residents (default 1,000) for --overload-seconds (default 120; --quick
      30). Expected: graceful 429/503, each with Retry-After; never another 5xx; the number of
      PostgreSQL connections never above max_connections (pg_stat_activity polled every 0.25 s).
   Each figure is shown as the median of the rounds with their range, with the CPU each side used
   (the load tool, gunicorn, PostgreSQL, everything else) per evening request and the evening 10 s
   at a time (the first seconds, when the phones open the map, apart from the rest).
3. Targets (issue 3), every round: writes p95 <= 300 ms and p99 <= 1 s, reads p95 <= 200 ms, zero
   5xx; one "met" / "NOT met" line each. Exit status: 0 all met, 1 a target missed on a quiet machine,
   2 a target missed on a busy machine (not a result: run it again on a quiet one).
4. --trace: gunicorn also runs bench/gunicorn_trace.py, and every evening request is taken apart:
   time in the load tool before it was written, in the server's queue (written -> a thread took
   it), in the application, and back to the load tool; the same for the slowest 5 %; threads busy
   when a request started, requests per worker, garbage collections in the workers and in the load
   tool, and the load tool's event-loop lag (docs/benchmarks.md, "Where the tail came from").
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import event_load as ev
from common import OUT, ROOT, postgres_pid, psql, table
from machine import CpuAccount, MachineWatch, Targets, summarize

TARGETS = [  # (figure, bucket, percentile, at most ms)
    ("evening writes p95", "writes", 95, 300),
    ("evening writes p99", "writes", 99, 1000),
    ("evening reads p95", "reads", 95, 200),
]


class Stats(ev.Stats):
    no_retry_after: int = 0


_event_load_timed = ev.timed
_ids = itertools.count(1)
TRACE: list[tuple] | None = None  # client side of --trace: (id, bucket, called, done, status)
TIMELINE: list[tuple[float, float, bool]] = []  # every request: (called, seconds, is a write)


async def timed(pool, stats, bucket, method, path, headers, body=b""):
    """event_load.timed, plus X-Request-Start (stamped when written) and a check that every 429/503
    carries Retry-After; with --trace, the request's id and the load tool's own times."""
    headers = {**headers, "X-Request-Start": lambda: f"t={time.time():.6f}"}
    if TRACE is not None:
        rid = next(_ids)
        headers["X-Bench-Id"] = str(rid)
        called = time.time()
    started = time.monotonic()
    status, resp_headers = await _event_load_timed(pool, stats, bucket, method, path, headers, body)
    if status:
        TIMELINE.append((started, time.monotonic() - started, bucket is stats.writes))
    if TRACE is not None:
        TRACE.append((rid, "writes" if bucket is stats.writes else "reads", called, time.time(), status))
    if status in (429, 503) and "retry-after" not in resp_headers:
        stats.no_retry_after = getattr(stats, "no_retry_after", 0) + 1
    return status, resp_headers


ev.timed = timed  # resident() and viewer() of event_load look it up at call time
ev.Stats = Stats


class ConnectionWatch(threading.Thread):
    """Polls pg_stat_activity: the most connections seen, cluster-wide and to the bench database."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        import psycopg

        self.conn = psycopg.connect(url.replace("postgis://", "postgresql://"), autocommit=True)
        self.max_connections = int(self.conn.execute("SHOW max_connections").fetchone()[0])
        self.peak_total = self.peak_db = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            total, here = self.conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE datname = current_database()) FROM pg_stat_activity"
            ).fetchone()
            self.peak_total, self.peak_db = max(self.peak_total, total), max(self.peak_db, here)
            time.sleep(0.25)

    def reset(self) -> tuple[int, int]:
        peaks = (self.peak_total, self.peak_db)
        self.peak_total = self.peak_db = 0
        return peaks


def wrk_healthz(port: int, seconds: int) -> dict:
    """wrk on /healthz: requests/s and latency percentiles (ms)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is required (apt-get install wrk; scripts/bootstrap.sh installs it)")
    out = subprocess.run(
        [exe, "-t2", "-c32", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/healthz"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%")}


# ---------------------------------------------------------------- who used the cores
def redis_pid() -> int | None:
    """The Redis the server's cache talks to (its INFO names its process)."""
    try:
        from django.core.cache import cache

        client = cache._cache.get_client()  # Django's own Redis backend
        return int(client.info("server")["process_id"])
    except Exception:  # a local-memory cache, or no INFO: nothing to count
        return None


# ---------------------------------------------------------------- one round
@dataclass
class Round:
    evening: Stats
    evening_s: float
    evening_conns: tuple[int, int]
    crowd: Stats
    crowd_s: float
    crowd_conns: tuple[int, int]
    wrk: dict
    cpu: dict[str, float]
    timeline: list[tuple[float, float, bool]]
    trace: dict = field(default_factory=dict)


def reset_round(world: ev.World, cold_tiles: bool, port: int) -> None:
    """Every round starts as the first: no edits of earlier rounds (the pending layers and the rate
    limit's counts would grow round after round), no map-data tile cached but the warmed ones, and
    dirty pages written out (a checkpoint inside a round is the database's, not ours)."""
    from mapping.feature_tiles import invalidate_town

    psql("TRUNCATE mapping_revision RESTART IDENTITY CASCADE", db=os.environ["BENCH_DB"])
    psql("VACUUM ANALYZE mapping_revision", db=os.environ["BENCH_DB"])
    psql("CHECKPOINT")
    invalidate_town(world.town_slug)
    asyncio.run(ev.warm_up(port, world, 200, tiles=not cold_tiles))


async def _with_lag_probe(coro, lags: list[float]):
    """Run ``coro`` and meanwhile measure the event loop's lag every 50 ms (how late a timer fires:
    the load tool's own share of every latency it measures)."""

    async def probe() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append(time.perf_counter() - before - 0.05)

    task = asyncio.create_task(probe())
    try:
        return await coro
    finally:
        task.cancel()


def run_phase(port: int, world, seconds: float, watch: ConnectionWatch, lags: list[float] | None = None):
    watch.reset()
    coro = ev.evening(port, world, seconds)
    stats, elapsed = asyncio.run(_with_lag_probe(coro, lags) if lags is not None else coro)
    return stats, elapsed, watch.reset()


class ClientGC:
    """Garbage collections in the load tool's process (their pauses stall every request in flight)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))


def one_round(n: int, args, port: int, worlds, watch, groups, trace_dir: Path | None) -> Round:
    global TRACE
    evening_world, crowd_world = worlds
    reset_round(evening_world, args.cold_tiles, port)
    ref = wrk_healthz(port, 3 if args.quick else 10)
    print(f"round {n}: wrk GET /healthz {ref['rps']:.0f} req/s, p50 {ref['p50']:.1f} ms", flush=True)
    time.sleep(1)
    if trace_dir is not None:
        for f in trace_dir.glob("*.tsv"):
            f.write_text("")
        TRACE = []
    lags: list[float] = []
    client_gc = ClientGC()
    gc.callbacks.append(client_gc)
    account = CpuAccount(groups)
    account.start()
    TIMELINE.clear()
    evening, evening_s, evening_conns = run_phase(port, evening_world, args.minutes * 60, watch, lags)
    cpu = account.stop()
    timeline = list(TIMELINE)
    gc.callbacks.remove(client_gc)
    trace = {}
    if trace_dir is not None:
        trace = analyse_trace(TRACE, trace_dir, lags, client_gc)
        TRACE = None
    print(f"round {n}: evening writes p95 {ev.pct(evening.writes, 95):.0f} ms, reads p95 "
          f"{ev.pct(evening.reads, 95):.0f} ms; overload for {args.overload_seconds:g} s", flush=True)  # fmt: skip
    crowd, crowd_s, crowd_conns = run_phase(port, crowd_world, args.overload_seconds, watch)
    time.sleep(3)  # the shed backlog drains before the next round
    return Round(evening, evening_s, evening_conns, crowd, crowd_s, crowd_conns, ref, cpu, timeline, trace)


# ---------------------------------------------------------------- --trace
def analyse_trace(client: list[tuple], trace_dir: Path, lags: list[float], client_gc: ClientGC) -> dict:
    """Join the load tool's times with the workers' (bench/gunicorn_trace.py) by request id."""
    server: dict[int, tuple] = {}
    per_worker: dict[str, int] = {}
    gc_pauses: list[tuple[int, float, float]] = []  # (generation, wall s, CPU s)
    gc_spans: dict[str, list[tuple[float, float]]] = {}  # per worker: (start, end) of each collection
    for path in trace_dir.glob("*.tsv"):
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if parts[0] == "req" and parts[1] != "-":
                sent, took, done, cpu = float(parts[2]), float(parts[3]), float(parts[4]), float(parts[8])
                server[int(parts[1])] = (
                    sent,
                    took,
                    done,
                    int(parts[5]),
                    int(parts[6]),
                    cpu,
                    parts[9],
                    path.stem,
                )
                per_worker[path.stem] = per_worker.get(path.stem, 0) + 1
            elif parts[0] == "gc":
                gc_pauses.append((int(parts[3]), float(parts[2]), float(parts[4])))
                start = float(parts[1])
                gc_spans.setdefault(path.stem, []).append((start, start + float(parts[2])))
    for spans in gc_spans.values():
        spans.sort()
    starts = {w: [a for a, _ in spans] for w, spans in gc_spans.items()}

    def in_gc(worker: str, begin: float, end: float) -> float:
        """Seconds of [begin, end] during which ``worker`` was collecting (its threads all stopped)."""
        spans, total = gc_spans.get(worker, []), 0.0
        i = max(0, bisect.bisect_left(starts.get(worker, []), begin) - 1)
        while i < len(spans) and spans[i][0] < end:
            total += max(0.0, min(end, spans[i][1]) - max(begin, spans[i][0]))
            i += 1
        return total

    rows = []
    for rid, bucket, called, done, _status in client:
        if rid not in server:
            continue
        sent, took, finished, busy, queued, cpu, kind, worker = server[rid]
        rows.append({
            "bucket": bucket, "kind": kind, "total": done - called, "before": sent - called,
            "queue": took - sent, "app": finished - took, "app_cpu": cpu, "after": done - finished,
            "busy": busy, "queued": queued, "gc": in_gc(worker, sent, finished),
        })  # fmt: skip
    return {
        "rows": rows,
        "per_worker": per_worker,
        "gc": gc_pauses,
        "lags": lags,
        "client_gc": client_gc.pauses,
    }


def _q(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def print_trace(rounds: list[Round], threads: int) -> None:
    parts = ["before", "queue", "app", "after", "gc"]
    print("\nWhere evening requests spent their time (--trace), ms: median of all / median of the "
          "slowest 5 % / that part's share of the slowest 5 %'s time")  # fmt: skip
    out = []
    for n, r in enumerate(rounds, 1):
        for bucket in ("writes", "reads"):
            rows = sorted((x for x in r.trace["rows"] if x["bucket"] == bucket), key=lambda x: x["total"])
            if not rows:
                continue
            tail = rows[int(len(rows) * 0.95) :]
            tail_total = sum(x["total"] for x in tail) or 1
            cells = [
                f"{statistics.median(x[p] for x in rows) * 1000:.1f} / "
                f"{statistics.median(x[p] for x in tail) * 1000:.0f} / "
                f"{sum(x[p] for x in tail) / tail_total:.0%}"
                for p in parts
            ]
            busy_tail = statistics.median(x["busy"] for x in tail)
            queued_tail = statistics.median(x["queued"] for x in tail)
            out.append(
                [f"{n}: {bucket}", len(rows), *cells, f"{busy_tail:.0f} of {threads}", f"{queued_tail:.0f}"]
            )
    print(table(["round: requests", "count", "load tool before send", "server queue", "application",
                 "back to load tool", "of which GC in its worker", "busy threads (tail)", "queued (tail)"],
                out))  # fmt: skip
    print(
        "\nIn the application, per kind of request, ms: wall p50 / p95 / p99, and the thread's own CPU p50 / p95"
    )
    out = []
    for n, r in enumerate(rounds, 1):
        for kind in ("edit", "pending", "tile"):
            rows = [x for x in r.trace["rows"] if x["kind"] == kind]
            if rows:
                app = [x["app"] * 1000 for x in rows]
                cpu = [x["app_cpu"] * 1000 for x in rows]
                out.append([f"{n}: {kind}", len(rows), f"{_q(app, .5):.1f} / {_q(app, .95):.0f} / {_q(app, .99):.0f}",
                            f"{_q(cpu, .5):.1f} / {_q(cpu, .95):.1f}"])  # fmt: skip
    print(table(["round: kind", "count", "wall", "CPU"], out))
    print("\nGarbage collections: in the gunicorn workers (all workers), and in the load tool")
    out = []
    for n, r in enumerate(rounds, 1):
        for gen in (0, 1, 2):
            pauses = [(w, c) for g, w, c in r.trace["gc"] if g == gen]
            mine = [w for g, w in r.trace["client_gc"] if g == gen]
            out.append([
                f"{n}: gen {gen}", len(pauses), f"{sum(c for _, c in pauses) * 1000:.0f}",
                f"{max((c for _, c in pauses), default=0) * 1000:.1f}", f"{max((w for w, _ in pauses), default=0) * 1000:.0f}",
                len(mine), f"{max(mine, default=0) * 1000:.1f}",
            ])  # fmt: skip
    print(table(["round: generation", "worker collections", "CPU ms in all", "max CPU ms", "max wall ms",
                 "load-tool collections", "max wall ms"], out))  # fmt: skip
    for n, r in enumerate(rounds, 1):
        t = r.trace
        total = sum(t["per_worker"].values()) or 1
        share = ", ".join(f"{v / total:.0%}" for v in sorted(t["per_worker"].values(), reverse=True))
        lags = t["lags"] or [0.0]
        print(
            f"round {n}: requests per worker {share}; load-tool event-loop lag p50 {_q(lags, 0.5) * 1000:.1f} ms, "
            f"p99 {_q(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
        )


# ---------------------------------------------------------------- report
def print_windows(rounds: list[Round]) -> None:
    """The evening 10 s at a time: where in the evening the slow requests were (the first seconds,
    when 500 phones open the map, or a stall later on)."""
    print("\nThe evening by 10-s window (requests by start time): requests/s, writes p95 / reads p95 ms")
    windows: dict[int, list[list[tuple[float, bool]]]] = {}
    for n, r in enumerate(rounds):
        if not r.timeline:
            continue
        first = min(t for t, _, _ in r.timeline)
        for t, seconds, write in r.timeline:
            slot = windows.setdefault(int((t - first) // 10), [[] for _ in rounds])
            slot[n].append((seconds * 1000, write))
    rows = []
    for w, per_round in sorted(windows.items()):
        cells = []
        for xs in per_round:
            writes = [ms for ms, is_write in xs if is_write]
            reads = [ms for ms, is_write in xs if not is_write]
            cells.append(f"{len(xs) / 10:.0f}/s, {_q(writes, 0.95):.0f} / {_q(reads, 0.95):.0f}")
        rows.append([f"{w * 10}-{w * 10 + 10} s", *cells])
    print(table(["window", *(f"round {n}" for n in range(1, len(rounds) + 1))], rows))


def spread(values: list[float], digits: int = 0) -> str:
    return summarize(values).format(digits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure (the median and range)")
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--overload", type=int, default=1000)
    parser.add_argument("--overload-seconds", type=float)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--db", default="cartoparty_bench_load")
    parser.add_argument(
        "--cold-tiles", action="store_true", help="start the evening with no map-data tile cached"
    )
    parser.add_argument("--trace", action="store_true", help="take every evening request apart (see above)")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds: at least 3 (a median and a spread)")
    args.minutes = args.minutes or (1 if args.quick else 10)
    args.overload_seconds = args.overload_seconds or (30 if args.quick else 120)

    machine = MachineWatch.before_run(5)  # before this process starts any work
    print(f"machine before the run: {machine.idle_before:.0%} idle over 5 s, load average "
          f"{' '.join(f'{v:.2f}' for v in machine.load_before)}", flush=True)  # fmt: skip
    env = ev.setup_django(args.db)
    os.environ["BENCH_DB"] = args.db
    world = ev.build_world(max(args.residents, args.overload), args.viewers)
    evening_world = ev.World(
        world.party_id, world.town_slug, world.residents[: args.residents], world.viewers, world.nodes
    )
    crowd_world = ev.World(world.party_id, world.town_slug, world.residents[: args.overload], [], world.nodes)
    # What set-up built lives as long as this process: the load tool's collections need not scan it.
    gc.collect()
    gc.freeze()
    watch = ConnectionWatch(env["DATABASE_URL"])
    watch.start()
    port = ev.free_port()
    trace_dir = Path(tempfile.mkdtemp(prefix="bench-trace-")) if args.trace else None
    extra = ("-c", str(ROOT / "bench" / "gunicorn_trace.py")) if trace_dir else ()
    if trace_dir:
        env = {**env, "BENCH_TRACE_DIR": str(trace_dir)}
    server = ev.start_gunicorn(env, port, args.workers, args.threads, extra)
    groups = {  # in this order: gunicorn is a child of the load tool's process
        "gunicorn": [server.pid],
        "postgres": [p for p in [postgres_pid()] if p],
        "redis": [p for p in [redis_pid()] if p],
        "load_tool": [os.getpid()],
    }
    for pid in groups["postgres"] + groups["redis"]:
        machine.add(pid)
    print(f"evening: {args.residents} residents + {args.viewers} viewers for {args.minutes:g} min, then "
          f"{args.overload} residents for {args.overload_seconds:g} s; {args.rounds} rounds "
          f"(gunicorn {args.workers} workers x {args.threads} threads)", flush=True)  # fmt: skip
    rounds = []
    try:
        for n in range(1, args.rounds + 1):
            rounds.append(one_round(n, args, port, (evening_world, crowd_world), watch, groups, trace_dir))
    finally:
        ev.stop(server)
        watch.running = False
        if trace_dir is not None:
            shutil.rmtree(trace_dir, ignore_errors=True)
    machine.after_run()
    return report(args, rounds, machine, watch.max_connections)


def report(args, rounds: list[Round], machine: MachineWatch, max_connections: int) -> int:
    def pcts(phase: str, bucket: str) -> list[str]:
        return [spread([ev.pct(getattr(getattr(r, phase), bucket), p) for r in rounds]) for p in (50, 95, 99)]

    def rate(phase: str, bucket: str) -> str:
        return spread([len(getattr(getattr(r, phase), bucket)) / getattr(r, f"{phase}_s") for r in rounds], 1)

    def count(phase: str, bucket: str) -> str:
        return spread([len(getattr(getattr(r, phase), bucket)) for r in rounds])

    rows = [
        ["evening writes", count("evening", "writes"), rate("evening", "writes"), *pcts("evening", "writes")],
        ["evening reads", count("evening", "reads"), rate("evening", "reads"), *pcts("evening", "reads")],
        ["overload writes", count("crowd", "writes"), rate("crowd", "writes"), *pcts("crowd", "writes")],
        ["overload reads", count("crowd", "reads"), rate("crowd", "reads"), *pcts("crowd", "reads")],
        ["ref: wrk GET /healthz", "", spread([r.wrk["rps"] for r in rounds]), spread([r.wrk["p50"] for r in rounds], 1),
         "", spread([r.wrk["p99"] for r in rounds], 1)],
    ]  # fmt: skip
    print(f"\nmedian (min-max) of {len(rounds)} rounds\n")
    print(table(["requests", "count", "per s", "p50 ms", "p95 ms", "p99 ms"], rows))
    n_requests = [len(r.evening.writes) + len(r.evening.reads) for r in rounds]
    cpu_rows = []
    for side in ("load_tool", "gunicorn", "postgres", "redis", "others"):
        seconds = [r.cpu[side] for r in rounds]
        cpu_rows.append([
            side.replace("_", " "), spread([s / r.cpu["wall"] for s, r in zip(seconds, rounds, strict=True)], 2),
            spread([s * 1000 / n for s, n in zip(seconds, n_requests, strict=True)], 2),
        ])  # fmt: skip
    print("\nCPU during the evening (cores of 2 busy on average; ms of CPU per evening request)\n")
    print(table(["process", "cores", "CPU ms / request"], cpu_rows))
    print_windows(rounds)
    if args.trace:
        print_trace(rounds, args.threads)
    print()
    for n, r in enumerate(rounds, 1):
        for name, stats, conns in (
            ("evening", r.evening, r.evening_conns),
            ("overload", r.crowd, r.crowd_conns),
        ):
            others = sum(v for s, v in stats.statuses.items() if s >= 500 and s != 503)
            print(f"round {n} {name}: statuses {dict(sorted(stats.statuses.items()))}, connection errors "
                  f"{stats.errors}, 429/503 without Retry-After {getattr(stats, 'no_retry_after', 0)}, 5xx other "
                  f"than 503 {others}, peak PostgreSQL connections {conns[0]} (bench database {conns[1]}) of "
                  f"max_connections {max_connections}")  # fmt: skip
    print(f"\ntargets (issue 3), worst of {len(rounds)} rounds:")
    targets = Targets("load", machine)
    for name, bucket, p, target in TARGETS:
        values = [ev.pct(getattr(r.evening, bucket), p) for r in rounds]
        targets.check(f"{name} (worst round)", round(max(values)), target, "ms", ours=f"{spread(values)} ms")
    targets.check("evening 5xx and connection errors",
                  sum(r.evening.server_errors + r.evening.errors for r in rounds), 0)  # fmt: skip
    graceful = sum(
        sum(v for s, v in r.crowd.statuses.items() if s >= 500 and s != 503)
        + getattr(r.crowd, "no_retry_after", 0)
        + (max(r.evening_conns[0], r.crowd_conns[0]) > max_connections)
        for r in rounds
    )
    targets.check("overload: 5xx other than 503, 503 without Retry-After, connections over max", graceful, 0)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(json.dumps({
        "minutes": args.minutes, "residents": args.residents, "viewers": args.viewers,
        "overload_residents": args.overload, "overload_seconds": args.overload_seconds,
        "workers": args.workers, "threads": args.threads,
        "machine": {"idle_before": machine.idle_before, "load_before": machine.load_before,
                    "foreign_share": machine.foreign_share, "load_after": machine.load_after, "busy": machine.busy},
        "rounds": [{
            "evening": {"writes_ms": {p: ev.pct(r.evening.writes, p) for p in (50, 95, 99)},
                        "reads_ms": {p: ev.pct(r.evening.reads, p) for p in (50, 95, 99)},
                        "statuses": r.evening.statuses, "errors": r.evening.errors, "peak_connections": r.evening_conns},
            "overload": {"writes_ms": {p: ev.pct(r.crowd.writes, p) for p in (50, 95, 99)},
                         "reads_ms": {p: ev.pct(r.crowd.reads, p) for p in (50, 95, 99)},
                         "statuses": r.crowd.statuses, "errors": r.crowd.errors, "peak_connections": r.crowd_conns},
            "wrk_healthz": r.wrk, "cpu_seconds": r.cpu,
        } for r in rounds],
        "max_connections": max_connections,
    }, indent=1))  # fmt: skip
    return targets.finish()


if __name__ == "__main__":
    sys.exit(main())

"""Load and overload: a long crowded evening, then 1,000 residents at once, against gunicorn.

    .venv/bin/python bench/load.py [--quick] [--minutes 10] [--residents 300] [--viewers 500]
                                   [--overload 1000] [--overload-seconds 120] [--workers 3] [--threads 8]
                                   [--cold-tiles]

Reuses bench/event_load.py (its database, world, gunicorn and asyncio HTTP client), with every
request carrying ``X-Request-Start`` as the reverse proxy would (see config.security's load shedding).

1. Evening: 300 residents (a save every ~10 s with bursts, then a reload of their pending layer) + 500
   viewers panning (a move every 1-3 s, asking for the map-data tiles new to the view, as the page
   does; see bench/event_load.py) for --minutes (default 10; --quick: 1). Targets (issue 3): writes p95 <= 300
   ms and p99 <= 1 s, reads p95 <= 200 ms, zero 5xx.
2. Overload: --overload residents (default 1,000) for --overload-seconds (default 120; --quick 30).
   Expected: graceful 429/503, each with Retry-After; never another 5xx; the number of PostgreSQL
   connections never above max_connections (pg_stat_activity polled every 0.25 s in both phases).
3. Reference in the same run: wrk (Debian package) on GET /healthz, the HTTP + Django floor of this
   machine; ratios of our request rates and latencies to it are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import event_load as ev  # noqa: E402
from common import OUT, table  # noqa: E402


class Stats(ev.Stats):
    no_retry_after: int = 0


_event_load_timed = ev.timed


async def timed(pool, stats, bucket, method, path, headers, body=b""):
    """event_load.timed, plus X-Request-Start and a check that every 429/503 carries Retry-After."""
    headers = {**headers, "X-Request-Start": f"t={time.time():.3f}"}
    status, resp_headers = await _event_load_timed(pool, stats, bucket, method, path, headers, body)
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


def run_phase(
    port: int, world, seconds: float, watch: ConnectionWatch
) -> tuple[Stats, float, tuple[int, int]]:
    watch.reset()
    stats, elapsed = asyncio.run(ev.evening(port, world, seconds))
    return stats, elapsed, watch.reset()


def row(name: str, stats: Stats, elapsed: float, bucket: str) -> list:
    values = getattr(stats, bucket)
    return [name, len(values), f"{len(values) / elapsed:.1f}", f"{ev.pct(values, 50):.0f}",
            f"{ev.pct(values, 95):.0f}", f"{ev.pct(values, 99):.0f}"]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
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
    args = parser.parse_args()
    minutes = args.minutes or (1 if args.quick else 10)
    overload_seconds = args.overload_seconds or (30 if args.quick else 120)

    env = ev.setup_django(args.db)
    world = ev.build_world(max(args.residents, args.overload), args.viewers)
    evening_world = ev.World(
        world.party_id, world.town_slug, world.residents[: args.residents], world.viewers, world.nodes
    )
    crowd_world = ev.World(world.party_id, world.town_slug, world.residents[: args.overload], [], world.nodes)
    watch = ConnectionWatch(env["DATABASE_URL"])
    watch.start()
    port = ev.free_port()
    server = ev.start_gunicorn(env, port, args.workers, args.threads)
    try:
        asyncio.run(ev.warm_up(port, evening_world, 200, tiles=not args.cold_tiles))
        ref = wrk_healthz(port, 5 if args.quick else 15)
        print(f"reference: wrk GET /healthz {ref['rps']:.0f} req/s, p50 {ref['p50']:.1f} ms", flush=True)
        print(f"evening: {args.residents} residents + {args.viewers} viewers for {minutes:g} min "
              f"(gunicorn {args.workers} workers x {args.threads} threads)", flush=True)  # fmt: skip
        evening, evening_s, evening_conns = run_phase(port, evening_world, minutes * 60, watch)
        print(f"overload: {args.overload} residents for {overload_seconds:g} s", flush=True)
        crowd, crowd_s, crowd_conns = run_phase(port, crowd_world, overload_seconds, watch)
    finally:
        ev.stop(server)
        watch.running = False

    rows = [
        row("evening writes", evening, evening_s, "writes"),
        row("evening reads", evening, evening_s, "reads"),
        row("overload writes", crowd, crowd_s, "writes"),
        row("overload reads", crowd, crowd_s, "reads"),
        ["ref: wrk GET /healthz", "", f"{ref['rps']:.0f}", f"{ref['p50']:.1f}", "", f"{ref['p99']:.1f}"],
    ]
    print()
    print(table(["requests", "count", "per s", "p50 ms", "p95 ms", "p99 ms"], rows))
    print()
    total_rate = (len(evening.writes) + len(evening.reads)) / evening_s
    print(f"evening request rate / wrk healthz rate: {total_rate / ref['rps']:.2f}x;  "
          f"read p50 / healthz p50: {ev.pct(evening.reads, 50) / ref['p50']:.1f}x")  # fmt: skip
    for name, stats, conns in (("evening", evening, evening_conns), ("overload", crowd, crowd_conns)):
        others = {s: n for s, n in stats.statuses.items() if s >= 500 and s != 503}
        print(f"{name}: statuses {dict(sorted(stats.statuses.items()))}, connection errors {stats.errors}, "
              f"429/503 without Retry-After {getattr(stats, 'no_retry_after', 0)}, 5xx other than 503 {sum(others.values())}, "
              f"peak PostgreSQL connections {conns[0]} (bench database {conns[1]}) of max_connections {watch.max_connections}")  # fmt: skip
    evening_ok = (
        ev.pct(evening.writes, 95) <= 300 and ev.pct(evening.writes, 99) <= 1000 and ev.pct(evening.reads, 95) <= 200
        and evening.server_errors == 0 and evening.errors == 0
    )  # fmt: skip
    crowd_ok = (
        all(s < 500 or s == 503 for s in crowd.statuses) and not getattr(crowd, "no_retry_after", 0)
        and max(evening_conns[0], crowd_conns[0]) <= watch.max_connections
    )  # fmt: skip
    print(
        f"evening targets {'met' if evening_ok else 'NOT met'}; overload {'graceful' if crowd_ok else 'NOT graceful'}"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(json.dumps({
        "minutes": minutes, "residents": args.residents, "viewers": args.viewers, "overload_residents": args.overload,
        "overload_seconds": overload_seconds, "workers": args.workers, "threads": args.threads,
        "evening": {"writes_ms": {p: ev.pct(evening.writes, p) for p in (50, 95, 99)},
                    "reads_ms": {p: ev.pct(evening.reads, p) for p in (50, 95, 99)},
                    "statuses": evening.statuses, "errors": evening.errors, "peak_connections": evening_conns},
        "overload": {"writes_ms": {p: ev.pct(crowd.writes, p) for p in (50, 95, 99)},
                     "reads_ms": {p: ev.pct(crowd.reads, p) for p in (50, 95, 99)},
                     "statuses": crowd.statuses, "errors": crowd.errors, "peak_connections": crowd_conns},
        "max_connections": watch.max_connections, "wrk_healthz": ref,
    }, indent=1))  # fmt: skip
    return 0 if evening_ok and crowd_ok else 1


if __name__ == "__main__":
    sys.exit(main())

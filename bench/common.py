"""Helpers shared by the benchmarks: a bench database on the private cluster, timed child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from machine import process_jiffies

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SOCKET_DIR = Path(os.environ.get("CARTOPARTY_VAR_DIR", ROOT / "var")) / "run"
PG_PORT = "5433"


def postgres_pid() -> int | None:
    """The bench cluster's postmaster (its first line of postmaster.pid): its CPU is the benchmark's."""
    pidfile = SOCKET_DIR.parent / "pgdata" / "postmaster.pid"
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cluster_cpu() -> float:
    """CPU seconds (user + system) the bench cluster has used so far: the postmaster, its live
    processes, and the backends that have exited (reaped by the postmaster, so counted in its
    children's times). The difference over a run is the CPU PostgreSQL spent on it, provided
    nothing else uses this private cluster meanwhile (it is this worktree's own)."""
    root = postgres_pid()
    jiffies, children = process_jiffies()
    if root is None or root not in jiffies:
        return 0.0
    # The postmaster's own time and its reaped children's, and each live backend's (they have none).
    total = jiffies[root] + sum(jiffies.get(pid, 0) for pid in children.get(root, []))
    return total / os.sysconf("SC_CLK_TCK")


def bench_db_url(name: str = "cartoparty_bench") -> str:
    return f"postgis://cartoparty@{quote(str(SOCKET_DIR), safe='')}:{PG_PORT}/{name}"


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", str(SOCKET_DIR), "-p", PG_PORT, "-U", "cartoparty", "-d", db, "-qtAX", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def ensure_bench_db(name: str = "cartoparty_bench") -> dict[str, str]:
    """Create (once) and migrate the bench database; return the environment to run Django against it."""
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        psql(f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": bench_db_url(name)}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env


@dataclass
class Timed:
    seconds: float
    peak_mib: float
    output: str
    cpu: float = 0.0  # user + system seconds of the process and its children
    pg_cpu: float = 0.0  # CPU seconds the bench cluster spent meanwhile (cluster_cpu)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Timed:
    """Run a command under GNU time: wall seconds, peak resident memory and CPU of the process (and
    its children), and the CPU PostgreSQL spent meanwhile."""
    pg_before = cluster_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "__PEAK_KB__ %M %U %S", *cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    pg_cpu = cluster_cpu() - pg_before
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    usage = next(line for line in proc.stderr.splitlines() if line.startswith("__PEAK_KB__")).split()
    cpu = float(usage[2]) + float(usage[3])
    return Timed(seconds, int(usage[1]) / 1024, proc.stdout + proc.stderr, cpu, pg_cpu)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=False)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])

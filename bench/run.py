"""Run every benchmark, one after the other, and print their tables (`make bench`).

    .venv/bin/python bench/run.py [--quick] [--only import,exports,...]

Each benchmark compares against a reference tool on this machine in the same run (osm2pgsql,
osmium-tool, a plain Mapnik render, raw SQL, wrk on /healthz) and prints ratios. Run it on an
otherwise idle machine: the figures are wall-clock times. Before each benchmark the machine's idle
share over 5 s and its load average are printed (bench/machine.py), and a benchmark that measured a
busy machine says so ("BUSY MACHINE: figures not valid", exit status 2: not a result either way).
Exit status: 0 all ran and met their targets, 1 one failed or missed a target on a quiet machine,
2 none failed but some figures were taken on a busy machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from machine import QUIET_IDLE_SHARE, idle_share, load_average  # noqa: E402 (bench/ is on the path only from the line above)

PYTHON = str(BENCH.parent / ".venv" / "bin" / "python")
# name -> script; run in this order (the load tests last: they are the longest).
BENCHMARKS = {
    "import": "import_osm.py",
    "exports": "exports.py",
    "printing": "printing.py",
    "review": "review.py",
    "event_load": "event_load.py",
    "load": "load.py",
}
BUSY = 2  # the exit status of a benchmark that measured a busy machine (machine.exit_status)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's short mode")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    failed, busy = [], []
    for name in names:
        script = BENCH / BENCHMARKS[name]
        print(f"\n=== {name} ({script.name}{' --quick' if args.quick else ''}) ===", flush=True)
        idle, load = idle_share(5), load_average()
        print(f"machine: {idle:.0%} idle over the last 5 s, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
              + ("" if idle >= QUIET_IDLE_SHARE else "  (not quiet: figures will be noisy)"), flush=True)  # fmt: skip
        started = time.monotonic()
        code = subprocess.call([PYTHON, str(script), *(["--quick"] if args.quick else [])], cwd=BENCH.parent)
        outcome = {0: "ok", BUSY: "busy machine, figures not valid"}.get(code, f"exit {code}")
        print(f"=== {name}: {outcome} in {time.monotonic() - started:.0f} s", flush=True)
        if code == BUSY:
            busy.append(name)
        elif code:
            failed.append(name)
    if busy:
        print(f"\nBUSY MACHINE: figures of {', '.join(busy)} not valid; run them again on a quiet machine")
    return 1 if failed else BUSY if busy else 0


if __name__ == "__main__":
    sys.exit(main())

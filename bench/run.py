"""Run every benchmark, one after the other, and print their tables (`make bench`).

    .venv/bin/python bench/run.py [--quick] [--only import,exports,...]

Each benchmark compares against a reference tool on this machine in the same run (osm2pgsql,
osmium-tool, a plain Mapnik render, raw SQL, wrk on /healthz) and prints ratios. Run it on an
otherwise idle machine: the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's short mode")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    failed = []
    for name in names:
        script = BENCH / BENCHMARKS[name]
        print(f"\n=== {name} ({script.name}{' --quick' if args.quick else ''}) ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([PYTHON, str(script), *(["--quick"] if args.quick else [])], cwd=BENCH.parent)
        print(
            f"=== {name}: {'ok' if code == 0 else f'exit {code}'} in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

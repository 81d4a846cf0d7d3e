"""Run every benchmark, one after the other, then print one table of all their targets (`make bench`).

    .venv/bin/python bench/run.py [--quick] [--only import,exports,...]

Each benchmark compares against a reference tool on this machine in the same run (osm2pgsql,
osmium-tool, a plain Mapnik render, raw SQL, wrk on /healthz), takes every figure as the median of
its rounds with their spread, prints "met" / "NOT met" per target and the machine's state (idle share
over the 5 s before, load average, CPU others took meanwhile: "BUSY MACHINE: figures not valid" when
the machine was not quiet; bench/machine.py). Each benchmark appends its targets to a summary file
(bench/machine.py ``SUMMARY_ENV``), and this script ends with ONE table of them all: bench, case,
ours, reference, ratio, target, met / NOT met, machine state. A benchmark that fails before judging
its targets gets a NOT met row of its own.

Exit status: 0 every target met; 1 a target missed (or a benchmark failed) on a quiet machine;
2 targets missed only on a busy machine (no result either way: run them again when it is quiet).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from machine import (  # noqa: E402 (bench/ is on the path only from the line above)
    SUMMARY_ENV,
    MachineWatch,
    Outcome,
    machine_state,
    read_outcomes,
    summary_table,
)

PYTHON = str(BENCH.parent / ".venv" / "bin" / "python")
# name -> script; run in this order (the load tests last: they are the longest).
BENCHMARKS = {
    "import": "import_osm.py",
    "exports": "exports.py",
    "printing": "printing.py",
    "review": "review.py",
    "offline": "offline.py",
    "event_load": "event_load.py",
    "load": "load.py",
}
BUSY = 2  # the exit status of a benchmark that missed a target on a busy machine (machine.exit_status)


def run_status(outcomes: list[Outcome]) -> int:
    """0 all met; 1 a miss on a quiet machine; 2 misses on a busy machine only."""
    missed = [o for o in outcomes if not o.met]
    if not missed:
        return 0
    return BUSY if all(o.machine.startswith("BUSY") for o in missed) else 1


def failed_run(name: str, code: int, watch: MachineWatch) -> Outcome:
    """The row of a benchmark that ended without judging its targets (it crashed or was stopped)."""
    return Outcome(name, "the benchmark itself", f"exit {code}", "", "", "runs to the end", False,
                   machine_state(watch))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's short mode")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as tmp:
        outcomes = run_all(names, args.quick, Path(tmp) / "targets.jsonl")
    print("\nEvery target (figures: median of each benchmark's rounds, with their range)\n")
    print(summary_table(outcomes))
    status = run_status(outcomes)
    missed = sum(not o.met for o in outcomes)
    print(f"\n{len(outcomes) - missed} of {len(outcomes)} targets met", end="")
    if status == BUSY:
        print("; the misses were all on a BUSY MACHINE: figures not valid, run them again when it is quiet")
    else:
        print()
    return status


def run_all(names: list[str], quick: bool, summary: Path) -> list[Outcome]:
    """Run the benchmarks in turn; their rows, plus one for each that failed before judging."""
    env = {**os.environ, SUMMARY_ENV: str(summary)}
    outcomes: list[Outcome] = []
    recorded = 0  # rows of the summary file already read
    for name in names:
        script = BENCH / BENCHMARKS[name]
        print(f"\n=== {name} ({script.name}{' --quick' if quick else ''}) ===", flush=True)
        watch = MachineWatch.before_run(5)
        print(watch.report().splitlines()[0], flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [PYTHON, str(script), *(["--quick"] if quick else [])], cwd=BENCH.parent, env=env
        )
        watch.after_run()
        rows = read_outcomes(summary)[recorded:]
        recorded += len(rows)
        if code not in (0, 1, BUSY) or (code and not rows):
            rows.append(failed_run(name, code, watch))
        outcomes += rows
        print(f"=== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
    return outcomes


if __name__ == "__main__":
    sys.exit(main())

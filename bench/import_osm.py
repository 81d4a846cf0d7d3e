"""Import benchmark: our `import_osm` against `osm2pgsql --slim`, same files, same PostGIS, same run.

    .venv/bin/python bench/import_osm.py [--copies 20] [--runs 5] [--quick]

Prints wall time (median of the runs, at least 3, and their range), the ratio of the medians to
osm2pgsql's, and peak memory of each process, for the demo extract and a synthetic extract N times
larger (bench/make_synthetic.py). The two tools run in turn. Targets (issue 15): import_osm within
1.2x osm2pgsql's wall time on both files, and a peak memory that does not grow with the file (the
larger file's peak within 1.25x the demo's). Each target prints "met" or "NOT met" with the
machine's state (BUSY MACHINE when it was not quiet, bench/machine.py); exit status 0 all met, 1
one missed on a quiet machine, 2 missed on a busy one.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from statistics import median

from common import OUT, PG_PORT, PYTHON, ROOT, SOCKET_DIR, ensure_bench_db, postgres_pid, psql, table, timed
from machine import MachineWatch, Targets, summarize

RATIO = 1.2  # import_osm / osm2pgsql wall time, at most, on each file
FLAT_MEMORY = 1.25  # the larger file's peak / the demo's, at most

DEMO = ROOT / "tests/data/extract/liechtenstein-2013-08-03.osm.pbf"
DB = "cartoparty_bench_import"


def count_objects(path) -> int:
    out = subprocess.run(
        ["osmium", "fileinfo", "-e", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return sum(int(n) for n in re.findall(r"Number of (?:nodes|ways|relations): (\d+)", out))


def run(files: list, runs: int, targets: Targets) -> list[list[str]]:
    env = ensure_bench_db(DB)
    rows, peaks = [], []
    for path in files:
        ours, o2p = [], []
        for _ in range(runs):  # the two tools in turn, so a slow minute of the machine hits both
            # Fresh state for both tools, and a checkpoint before each: a 1.5 M-object load writes
            # ~1 GB of WAL, so without it a checkpoint lands inside one run or the other (±20 % noise).
            # VACUUM: what autovacuum still owes the last run (1.5 M rows inserted) is done now, not
            # on a core during the next run, where it was counted in that tool's PostgreSQL CPU.
            psql("TRUNCATE mapping_revision, mapping_node, mapping_way, mapping_relation CASCADE", DB)
            psql("VACUUM", DB)
            psql("CHECKPOINT", DB)
            ours.append(timed([PYTHON, "manage.py", "import_osm", str(path), "--town", "bench"], env=env))
            psql("VACUUM", DB)
            psql("CHECKPOINT", DB)
            o2p.append(
                timed(
                    [
                        "osm2pgsql",
                        "--slim",
                        "-c",
                        "-d",
                        DB,
                        "-H",
                        str(SOCKET_DIR),
                        "-P",
                        PG_PORT,
                        "-U",
                        "cartoparty",
                        "--number-processes",
                        "2",
                        str(path),
                    ]
                )  # fmt: skip
            )
        a, b = median(t.seconds for t in ours), median(t.seconds for t in o2p)
        targets.check(f"{path.name}: import_osm / osm2pgsql --slim", round(a / b, 2), RATIO, "x",
                      ours=f"{spread(ours)} s", reference=f"{spread(o2p)} s")  # fmt: skip
        peaks.append(max(t.peak_mib for t in ours))
        rows.append(
            [
                path.name,
                f"{count_objects(path):,}",
                spread(ours),
                spread(o2p),
                f"{a / b:.2f}x",
                cpu_spread(ours),
                cpu_spread(o2p),
                f"{max(t.peak_mib for t in ours):.0f}",
                f"{max(t.peak_mib for t in o2p):.0f}",
            ]
        )
        print(f"  done {path.name}", file=sys.stderr)
    targets.check(f"peak memory, {files[-1].name} / {files[0].name}", round(peaks[-1] / peaks[0], 2),
                  FLAT_MEMORY, "x", ours=f"{peaks[-1]:.0f} MiB", reference=f"{peaks[0]:.0f} MiB")  # fmt: skip
    return rows


def spread(times: list) -> str:
    """Median wall time, and the range when there were several runs."""
    return summarize(t.seconds for t in times).format(2)


def cpu_spread(times: list) -> str:
    """Median CPU seconds of the tool (its children included) + PostgreSQL's meanwhile."""
    return f"{summarize(t.cpu for t in times).median:.2f} + {summarize(t.pg_cpu for t in times).median:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="2 copies instead of 20")
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool per file (median reported)")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs: at least 3 (a median and a spread)")
    watch = MachineWatch.before_run(5)  # before this process starts any work
    if pid := postgres_pid():
        watch.add(pid)
    targets = Targets("import", watch)
    copies = 2 if args.quick else args.copies
    synthetic = OUT / f"synthetic-{copies}x.osm.pbf"
    if not synthetic.exists():
        subprocess.run(
            [PYTHON, "bench/make_synthetic.py", "--copies", str(copies), "-o", str(synthetic)],
            cwd=ROOT,
            check=True,
        )
    rows = run([DEMO, synthetic], 3 if args.quick else args.runs, targets)
    print("\nImport: Cartoparty import_osm vs osm2pgsql --slim (same PostGIS, same run)\n")
    print(
        table(
            [
                "file",
                "objects",
                "import_osm s",
                "osm2pgsql s",
                "ratio of medians",
                "import_osm CPU s (+ PG)",
                "osm2pgsql CPU s (+ PG)",
                "import_osm MiB",
                "osm2pgsql MiB",
            ],
            rows,
        )
    )
    print(f"\nmedian (min-max) of {3 if args.quick else args.runs} runs\n")
    return targets.finish()


if __name__ == "__main__":
    sys.exit(main())

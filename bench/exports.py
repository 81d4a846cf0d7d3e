"""Export benchmark: our writers vs osmium-tool on the same data, in the same run.

    .venv/bin/python bench/exports.py [--town vaduz] [--quick]

Each of our exports runs as a child process (`manage.py export_osm`) so its peak memory (max RSS)
is measured with resource.getrusage(RUSAGE_CHILDREN). Reference: `osmium cat` converting our own
.osm XML to .osm.pbf, and `osmium export` turning our .osm.pbf into GeoJSON.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def run(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in MiB) of one child process; for export_osm, its own build time
    (printed by the command, Django start-up excluded: osmium has none)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    own = re.search(r"relations in ([0-9.]+) s", out)
    if own:
        seconds = float(own.group(1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(after, before) // 1024


def objects(path: Path) -> int:
    out = subprocess.run(
        ["osmium", "fileinfo", "-e", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return sum(int(n) for n in re.findall(r"Number of (?:nodes|ways|relations): (\d+)", out))


def best(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [run(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--town", default="vaduz")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        export = [PY, "manage.py", "export_osm", "--town", args.town, "-o"]
        pbf_s, pbf_mem = best([*export, str(d / "ours.osm.pbf"), "--format", "pbf"], repeat)
        xml_s, xml_mem = best([*export, str(d / "ours.osm"), "--format", "osm"], repeat)
        gj_s, gj_mem = best([*export, str(d / "ours.geojson"), "--format", "geojson"], repeat)
        cat_s, cat_mem = best(
            ["osmium", "cat", "-O", str(d / "ours.osm"), "-o", str(d / "ref.osm.pbf")], repeat
        )
        exp_s, exp_mem = best(
            ["osmium", "export", "-O", str(d / "ours.osm.pbf"), "-o", str(d / "ref.geojson")], repeat
        )
        n = objects(d / "ours.osm.pbf")
        # Django start-up is not in our figures (the web and worker processes are already up).
        boot_s, _ = best([PY, "manage.py", "check"], repeat)
    rows = [
        ("PostGIS -> .osm.pbf (ours)", pbf_s, pbf_mem, "osmium cat .osm -> .osm.pbf", cat_s, cat_mem),
        ("PostGIS -> .osm XML (ours)", xml_s, xml_mem, "", 0, 0),
        ("PostGIS -> GeoJSON (ours)", gj_s, gj_mem, "osmium export .osm.pbf -> GeoJSON", exp_s, exp_mem),
    ]
    print(f"Town {args.town}: {n:,} objects; Django start-up {boot_s:.2f} s (not included)")
    print(
        f"{'ours':42} {'s':>6} {'obj/s':>10} {'MiB':>5} | {'reference':36} {'s':>6} {'MiB':>5} {'ratio':>6}"
    )
    for name, s, mem, ref, rs, rmem in rows:
        ratio = f"{rs / s:.2f}x" if rs else ""
        print(f"{name:42} {s:6.2f} {n / s:10,.0f} {mem:5} | {ref:36} {rs:6.2f} {rmem:5} {ratio:>6}")


if __name__ == "__main__":
    main()

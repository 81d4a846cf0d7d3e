"""Export benchmark: our writers vs osmium-tool on the same data, in the same run.

    .venv/bin/python bench/exports.py [--quick]

Data: a bench database (cartoparty_bench_exports, created and filled once, reused): the demo
town, and a synthetic town of ~1,000,000 objects made in SQL from it (14 copies with fresh ids
and coordinates shifted east, like neighbouring towns). --quick: the demo town only.

Each of our exports runs as a child process (`manage.py export_osm`) so its peak memory (max RSS)
is measured with resource.getrusage(RUSAGE_CHILDREN). Reference: `osmium cat` converting our own
.osm XML to .osm.pbf, and `osmium export` turning our .osm.pbf into GeoJSON.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SOCKET = ROOT / "var" / "run"
DB = "cartoparty_bench_exports"
DEMO = ROOT / "tests" / "data" / "extract" / "liechtenstein-2013-08-03.osm.pbf"
COPIES, ID_STRIDE, LON_SHIFT = 14, 10**9, 0.3
ENV = {**os.environ, "DATABASE_URL": f"postgis://cartoparty@{quote(str(SOCKET), safe='')}:5433/{DB}"}


def psql(sql: str, db: str = DB) -> str:
    cmd = [
        "psql",
        "-h",
        str(SOCKET),
        "-p",
        "5433",
        "-U",
        "cartoparty",
        "-d",
        db,
        "-qtAX",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    done = subprocess.run([*cmd, "-c", sql], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout.strip()


SYNTHETIC_SQL = """
BEGIN;
INSERT INTO parties_town (slug, name, created_at) VALUES ('synthetic', 'Synthetic', now());
INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, visible, updated_at, geom)
  SELECT t.id, n.osm_id + k::bigint * {stride}, n.version, n.base_version, n.tags, n.visible, n.updated_at,
         ST_Translate(n.geom, k * {shift}, 0)
  FROM mapping_node n, generate_series(0, {last}) k, parties_town t, parties_town v
  WHERE t.slug = 'synthetic' AND v.slug = 'vaduz' AND n.town_id = v.id;
INSERT INTO mapping_way (town_id, osm_id, version, base_version, tags, visible, updated_at, nodes, geom, geom_status)
  SELECT t.id, w.osm_id + k::bigint * {stride}, w.version, w.base_version, w.tags, w.visible, w.updated_at,
         (SELECT array_agg(r + k::bigint * {stride} ORDER BY o) FROM unnest(w.nodes) WITH ORDINALITY u(r, o)),
         ST_Translate(w.geom, k * {shift}, 0), w.geom_status
  FROM mapping_way w, generate_series(0, {last}) k, parties_town t, parties_town v
  WHERE t.slug = 'synthetic' AND v.slug = 'vaduz' AND w.town_id = v.id;
INSERT INTO mapping_relation (town_id, osm_id, version, base_version, tags, visible, updated_at, members, geom, geom_status)
  SELECT t.id, r.osm_id + k::bigint * {stride}, r.version, r.base_version, r.tags, r.visible, r.updated_at,
         COALESCE((SELECT jsonb_agg(jsonb_set(m, '{{ref}}', to_jsonb((m->>'ref')::bigint + k::bigint * {stride})) ORDER BY o)
                   FROM jsonb_array_elements(r.members) WITH ORDINALITY mm(m, o)), '[]'),
         ST_Translate(r.geom, k * {shift}, 0), r.geom_status
  FROM mapping_relation r, generate_series(0, {last}) k, parties_town t, parties_town v
  WHERE t.slug = 'synthetic' AND v.slug = 'vaduz' AND r.town_id = v.id;
COMMIT;
ANALYZE;
"""


def ensure_towns(quick: bool) -> list[str]:
    """Create, migrate and fill the bench database once; later runs reuse it."""
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres") != "1":
        psql(f"CREATE DATABASE {DB}", "postgres")
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=ENV, check=True)
    if psql("SELECT count(*) FROM parties_town WHERE slug = 'vaduz'") == "0":
        subprocess.run(
            [PY, "manage.py", "import_osm", str(DEMO), "--town", "vaduz"], cwd=ROOT, env=ENV, check=True
        )
    if quick:
        return ["vaduz"]
    if psql("SELECT count(*) FROM parties_town WHERE slug = 'synthetic'") == "0":
        psql(SYNTHETIC_SQL.format(stride=ID_STRIDE, shift=LON_SHIFT, last=COPIES - 1))
        psql("VACUUM ANALYZE")  # set hint bits now, not during the first timed export
    return ["vaduz", "synthetic"]


def run(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in MiB) of one child process, measured by GNU time. For export_osm the
    seconds are the command's own build time (printed by it): Django's start-up is excluded, as the
    web and worker processes are already running when they export."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "PEAK_KB %M", *cmd], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stdout + done.stderr)
    own = re.search(r"relations in ([0-9.]+) s", done.stdout)
    peak = int(re.search(r"PEAK_KB (\d+)", done.stderr).group(1)) // 1024
    return (float(own.group(1)) if own else seconds), peak


def objects(path: Path) -> int:
    out = subprocess.run(
        ["osmium", "fileinfo", "-e", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return sum(int(n) for n in re.findall(r"Number of (?:nodes|ways|relations): (\d+)", out))


def best(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [run(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def bench_town(town: str, repeat: int) -> list[tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        export = [PY, "manage.py", "export_osm", "--town", town, "-o"]
        pbf = best([*export, str(d / "ours.osm.pbf"), "--format", "pbf"], repeat)
        xml = best([*export, str(d / "ours.osm"), "--format", "osm"], repeat)
        gj = best([*export, str(d / "ours.geojson"), "--format", "geojson"], repeat)
        cat = best(["osmium", "cat", "-O", str(d / "ours.osm"), "-o", str(d / "ref.osm.pbf")], repeat)
        exp = best(["osmium", "export", "-O", str(d / "ours.osm.pbf"), "-o", str(d / "ref.geojson")], repeat)
        n = objects(d / "ours.osm.pbf")
    return [
        (town, n, "PostGIS -> .osm.pbf", pbf, "osmium cat .osm -> .osm.pbf", cat, 0.8),
        (town, n, "PostGIS -> .osm", xml, "", None, None),
        (town, n, "PostGIS -> GeoJSON", gj, "osmium export .osm.pbf", exp, 0.25),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the demo town only, one run each")
    args = parser.parse_args()
    towns = ensure_towns(args.quick)
    repeat = 1 if args.quick else 3
    rows = [row for town in towns for row in bench_town(town, repeat)]
    head = f"{'town':10} {'objects':>9} {'ours':20} {'s':>6} {'obj/s':>9} {'MiB':>4} | {'reference':28} {'s':>6} {'MiB':>4} {'ratio':>6} {'target':>7}"
    print(head)
    print("-" * len(head))
    for town, n, name, (s, mem), ref, refv, target in rows:
        if refv:
            rs, rmem = refv
            tail = f"{ref:28} {rs:6.2f} {rmem:4} {rs / s:5.2f}x {'>=' + str(target) + 'x':>7}"
        else:
            tail = ""
        print(f"{town:10} {n:9,} {name:20} {s:6.2f} {n / s:9,.0f} {mem:4} | {tail}")
    print(
        "Targets: PBF >= 0.8x osmium cat; 1M objects PostGIS -> .osm.pbf <= 10 s; GeoJSON >= 0.25x osmium export;"
    )
    print("peak memory <= 512 MiB and flat as the town grows.")


if __name__ == "__main__":
    main()

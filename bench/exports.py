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
import resource
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
    cmd = ["psql", "-h", str(SOCKET), "-p", "5433", "-U", "cartoparty", "-d", db, "-qtAX", "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run([*cmd, "-c", sql], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout.strip()


SYNTHETIC_SQL = """
BEGIN;
INSERT INTO parties_town (slug, name, created_at) VALUES ('synthetic', 'Synthetic', now());
INSERT INTO mapping_node (town_id, osm_id, version, base_version, tags, visible, updated_at, geom)
  SELECT t.id, n.osm_id + k * {stride}, n.version, n.base_version, n.tags, n.visible, n.updated_at,
         ST_Translate(n.geom, k * {shift}, 0)
  FROM mapping_node n, generate_series(0, {last}) k, parties_town t, parties_town v
  WHERE t.slug = 'synthetic' AND v.slug = 'vaduz' AND n.town_id = v.id;
INSERT INTO mapping_way (town_id, osm_id, version, base_version, tags, visible, updated_at, nodes, geom, geom_status)
  SELECT t.id, w.osm_id + k * {stride}, w.version, w.base_version, w.tags, w.visible, w.updated_at,
         (SELECT array_agg(r + k * {stride} ORDER BY o) FROM unnest(w.nodes) WITH ORDINALITY u(r, o)),
         ST_Translate(w.geom, k * {shift}, 0), w.geom_status
  FROM mapping_way w, generate_series(0, {last}) k, parties_town t, parties_town v
  WHERE t.slug = 'synthetic' AND v.slug = 'vaduz' AND w.town_id = v.id;
INSERT INTO mapping_relation (town_id, osm_id, version, base_version, tags, visible, updated_at, members, geom, geom_status)
  SELECT t.id, r.osm_id + k * {stride}, r.version, r.base_version, r.tags, r.visible, r.updated_at,
         COALESCE((SELECT jsonb_agg(jsonb_set(m, '{{ref}}', to_jsonb((m->>'ref')::bigint + k * {stride})) ORDER BY o)
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
        subprocess.run([PY, "manage.py", "import_osm", str(DEMO), "--town", "vaduz"], cwd=ROOT, env=ENV, check=True)
    if quick:
        return ["vaduz"]
    if psql("SELECT count(*) FROM parties_town WHERE slug = 'synthetic'") == "0":
        psql(SYNTHETIC_SQL.format(stride=ID_STRIDE, shift=LON_SHIFT, last=COPIES - 1))
    return ["vaduz", "synthetic"]


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

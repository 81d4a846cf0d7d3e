"""Our files, checked by the tools the OSM world uses (Debian's osmium, osm2pgsql, JOSM, GDAL)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from django.db import connection

from exports.selectors import Scope, count_elements
from exports.services import build_export
from mapping.models import Node, Relation, Way
from tests.conftest import CENTRE_PBF
from tests.exports.conftest import osmium

pytestmark = [pytest.mark.django_db, pytest.mark.tools]
EXPECTED = Path(__file__).parents[1] / "data" / "expected"


def fileinfo_counts(path: Path) -> dict[str, int]:
    out = osmium("fileinfo", "-e", path).stdout
    return {k: int(re.search(rf"Number of {k}s: (\d+)", out).group(1)) for k in ("node", "way", "relation")}


def db_counts(town) -> dict[str, int]:
    return {
        "node": Node.objects.filter(town=town, visible=True).count(),
        "way": Way.objects.filter(town=town, visible=True).count(),
        "relation": Relation.objects.filter(town=town, visible=True).count(),
    }


@pytest.fixture
def exported(edited_centre, tmp_path) -> dict[str, Path]:
    town = edited_centre.town
    files = {}
    for fmt, name in (("pbf", "centre.osm.pbf"), ("osm", "centre.osm"), ("osc", "centre.osc")):
        files[fmt] = tmp_path / name
        build_export(town, fmt, files[fmt])
    return files


def test_counts_equal_the_database_and_refs_are_complete(edited_centre, exported):
    """osmium counts exactly the visible elements we store, and every way's nodes are in the file."""
    expected = db_counts(edited_centre.town)
    for fmt in ("pbf", "osm"):
        assert fileinfo_counts(exported[fmt]) == expected, fmt
        result = osmium("check-refs", exported[fmt], check=False)
        assert result.returncode == 0, result.stderr
        assert "Nodes in ways missing: 0" in result.stderr


def test_files_carry_the_odbl_attribution(exported):
    head = exported["osm"].read_text()[:600]
    assert 'copyright="OpenStreetMap and contributors"' in head
    assert 'license="https://opendatacommons.org/licenses/odbl/1-0/"' in head
    assert 'attribution="https://www.openstreetmap.org/copyright"' in head
    assert "ODbL" in osmium("fileinfo", exported["pbf"]).stdout
    assert "license=" in exported["osc"].read_text()[:1000]


def normalised(path: Path, out: Path) -> Path:
    """Same objects, comparable: no version/metadata, tags sorted by key (OSM does not order tags)."""
    clean = [
        "--clean",
        "version",
        "--clean",
        "timestamp",
        "--clean",
        "changeset",
        "--clean",
        "uid",
        "--clean",
        "user",
    ]
    opl = osmium("cat", *clean, path, "-f", "opl").stdout
    lines = []
    for line in opl.splitlines():
        fields = line.split(" ")
        fields = [("T" + ",".join(sorted(f[1:].split(",")))) if f.startswith("T") else f for f in fields]
        lines.append(" ".join(fields))
    out.write_text("\n".join(lines) + "\n")
    return out


def test_osmchange_applied_to_the_base_gives_our_full_export(edited_centre, exported, tmp_path):
    """apply-changes(imported extract, our .osc) == our full export (metadata aside)."""
    applied = tmp_path / "applied.osm.pbf"
    osmium("apply-changes", CENTRE_PBF, exported["osc"], "-o", applied)
    a, b = normalised(applied, tmp_path / "a.opl"), normalised(exported["osm"], tmp_path / "b.opl")
    result = osmium("diff", "-q", a, b, check=False)
    assert result.returncode == 0, osmium("diff", "-c", a, b, check=False).stdout[:3000]
    text = exported["osc"].read_text()
    # Modified elements carry the version they started from; created ones negative ids.
    for kind, osm_id in edited_centre.modified:
        el = {"node": Node, "way": Way}[kind].objects.get(town=edited_centre.town, osm_id=osm_id)
        assert f'<{kind} id="{osm_id}" version="{el.base_version}"' in text
    for kind, osm_id in edited_centre.created:
        assert osm_id < 0 and f'<{kind} id="{osm_id}"' in text
    assert '<way id="' in text.split("<delete>")[1]


def test_osmchange_changeset_tags(edited_centre, exported):
    meta = json.loads(exported["osc"].with_name("centre.changesets.json").read_text())
    (changeset,) = meta["changesets"]
    tags = changeset["tags"]
    assert tags["source"] == "survey"
    assert tags["created_by"].startswith("Cartoparty ")
    assert "#vaduzmaps" in tags["comment"] and tags["hashtags"] == "#vaduzmaps"
    assert "Anna" in tags["cartoparty:contributors"] and meta["contributors"] == ["Anna"]
    assert changeset["changes"] == sum(changeset["actions"].values()) > 0
    assert "changeset tags:" in exported["osc"].read_text()[:600]


def test_osm2pgsql_imports_our_pbf(exported):
    """osm2pgsql loads our .osm.pbf into a scratch PostGIS database (created and dropped here)."""
    settings = connection.settings_dict
    scratch = f"scratch_osm2pgsql_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cur:
        cur.execute("SELECT 1")  # connection open; CREATE DATABASE cannot run in a transaction:
    admin = [
        "psql",
        "-h",
        settings["HOST"],
        "-p",
        str(settings["PORT"]),
        "-U",
        settings["USER"],
        "-d",
        "postgres",
    ]
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    subprocess.run([*admin, "-c", f"CREATE DATABASE {scratch}"], check=True, capture_output=True, env=env)
    try:
        db = ["-H", settings["HOST"], "-P", str(settings["PORT"]), "-U", settings["USER"], "-d", scratch]
        subprocess.run(
            [*admin[:-1], scratch, "-c", "CREATE EXTENSION postgis"], check=True, capture_output=True, env=env
        )
        result = subprocess.run(
            ["osm2pgsql", "--slim", "--drop", "-c", *db, str(exported["pbf"])],
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        out = subprocess.run(
            [*admin[:-1], scratch, "-Atc", "SELECT count(*) FROM planet_osm_point"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode == 0, out.stderr + result.stderr[-2000:]
        assert int(out.stdout.strip()) > 0
    finally:
        subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {scratch}"], capture_output=True, env=env)


def test_gdal_reads_our_files(exported, edited_centre):
    for fmt in ("pbf", "osm"):
        result = subprocess.run(
            ["ogrinfo", "-ro", "-so", str(exported[fmt]), "points"], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "Feature Count" in result.stdout


def josm_errors(path: Path, report: Path) -> set[tuple[str, str]]:
    subprocess.run(
        [
            "java",
            "-Djava.awt.headless=true",
            "-jar",
            "/usr/share/josm/josm.jar",
            "validate",
            "-i",
            str(path),
            "-o",
            str(report),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    errors = set()
    for line in report.read_text().splitlines():
        for feature in json.loads(line)["features"] if line.strip() else []:
            props = feature["properties"]
            if props.get("severity") == "Errors":
                errors.add((props["@id"], props["message"]))
    return errors


def test_josm_validator_finds_no_new_errors(exported, tmp_path):
    """JOSM's validator reports no error-level issue the imported extract did not already have.

    The extract's own errors are pinned in tests/data/expected/josm-centre-base-errors.json
    (regenerate with CARTOPARTY_UPDATE_GOLDEN=1), so JOSM (slow to start) runs once.
    """
    baseline_file = EXPECTED / "josm-centre-base-errors.json"
    if os.environ.get("CARTOPARTY_UPDATE_GOLDEN"):
        base = tmp_path / "base.osm"
        osmium("cat", CENTRE_PBF, "-o", base)
        baseline_file.write_text(
            json.dumps(sorted(josm_errors(base, tmp_path / "base.geojson")), indent=1) + "\n"
        )
    baseline = {tuple(e) for e in json.loads(baseline_file.read_text())}
    ours = josm_errors(exported["osm"], tmp_path / "report.geojson")
    assert ours - baseline == set()


def test_scoped_exports_are_complete(edited_centre, tmp_path):
    """Party, bbox and since scopes give files whose ways have all their nodes."""
    import datetime as dt

    from mapping.selectors import BBox

    town = edited_centre.town
    scopes = {
        "party": Scope(party_id=edited_centre.party.pk),
        "bbox": Scope(bbox=BBox(9.519, 47.139, 9.522, 47.142)),
        "since": Scope(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)),
    }
    for name, scope in scopes.items():
        path = tmp_path / f"{name}.osm.pbf"
        result = build_export(town, "pbf", path, scope)
        assert osmium("check-refs", path, check=False).returncode == 0, name
        assert fileinfo_counts(path) == result.counts
    party_counts = fileinfo_counts(tmp_path / "party.osm.pbf")
    # The party touched 2 ways (one modified, one created; the deleted one is not in a full file).
    assert party_counts["way"] == 2
    assert fileinfo_counts(tmp_path / "since.osm.pbf") == party_counts
    assert count_elements(town, "way") > party_counts["way"]

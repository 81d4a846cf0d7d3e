"""scripts/backup.sh then scripts/restore.sh into a new database and a new var/ directory: every main
table has the same rows (count and checksum of the rows' text) and the files come back identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from exports.models import Job
from tests.factories import AgentFactory, RevisionFactory

ROOT = Path(__file__).resolve().parents[2]
TABLES = [
    "parties_town",
    "parties_party",
    "parties_user",
    "mapping_node",
    "mapping_way",
    "mapping_relation",
    "mapping_revision",
    "exports_job",
    "django_session",
]


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgis://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{name}"


def _fingerprint(cursor) -> dict[str, tuple[int, str]]:
    out = {}
    for table in TABLES:
        cursor.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
        )
        out[table] = tuple(cursor.fetchone())
    return out


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_gives_the_same_data(centre_town, tmp_path):
    revision = RevisionFactory(party__town=centre_town)
    AgentFactory(town=centre_town)
    Job.objects.create(town=centre_town, kind=Job.Kind.EXPORT, params={"format": "osm"})
    var = tmp_path / "var"
    for rel, body in {
        "media/logo.png": b"\x89PNG fake",
        "exports/centre/v1/centre.osm": b"<osm/>",
        "exports/prints/centre/edition-1.pdf": b"%PDF-1.4",
        "exports/centre/v1/.build-abc/half.osm": b"<osm",  # a build in progress is not data
        "tiles/16/1/2.png": b"cache",
    }.items():
        (var / rel).parent.mkdir(parents=True, exist_ok=True)
        (var / rel).write_bytes(body)
    with connection.cursor() as cur:
        before = _fingerprint(cur)
    assert before["mapping_node"][0] > 1000 and before["mapping_revision"][0] == 1

    source = settings.DATABASES["default"]["NAME"]
    restored_db = f"{source}_restored"
    env = {**os.environ, "CARTOPARTY_VAR_DIR": str(var), "DATABASE_URL": _url(source)}
    backup = subprocess.run(
        ["bash", "scripts/backup.sh", str(tmp_path / "backups")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    assert sorted(p.name for p in Path(backup).iterdir()) == ["SHA256SUMS", "database.dump", "files.tar.gz"]

    new_var = tmp_path / "restored-var"
    restore_env = {**env, "CARTOPARTY_VAR_DIR": str(new_var)}
    with psycopg.connect(_url(source).replace("postgis://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{restored_db}"')
    try:
        done = subprocess.run(
            ["bash", "scripts/restore.sh", backup, restored_db],
            cwd=ROOT, env=restore_env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with psycopg.connect(_url(restored_db).replace("postgis://", "postgresql://")) as restored:
            after = _fingerprint(restored.cursor())
            # The append-only trigger came back with the data.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                restored.execute("DELETE FROM mapping_revision WHERE id = %s", [revision.pk])
        # Restoring over an existing database is refused.
        again = subprocess.run(
            ["bash", "scripts/restore.sh", backup, restored_db],
            cwd=ROOT,
            env=restore_env,
            capture_output=True,
        )
        assert again.returncode != 0
    finally:
        with psycopg.connect(_url(source).replace("postgis://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored_db}"')

    assert after == before
    expected = {k: v for k, v in _files(var).items() if ".build-" not in k and not k.startswith("tiles/")}
    assert _files(new_var) == expected

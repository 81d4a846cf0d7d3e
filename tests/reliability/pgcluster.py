"""A throwaway PostgreSQL cluster and gunicorn for fault tests, apart from the shared private cluster.

The fault tests restart PostgreSQL; doing that to var/pgdata would break every other test running on
this machine, so they initdb their own small cluster on a socket in a temporary directory, migrate a
database in it and serve the app on it with gunicorn.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PGBIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1])
DB = "cartoparty_fault"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Cluster:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgis://cartoparty@{quote(str(self.root), safe='')}:{self.port}/{DB}"

    def pg_ctl(self, *args: str) -> None:
        cmd = [
            str(PGBIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            *args,
        ]
        subprocess.run(_as_pg(cmd), check=True, capture_output=True, timeout=90)

    def psql(self, sql: str, db: str = "postgres", user: str = "cartoparty") -> str:
        cmd = [str(PGBIN / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", user, "-d", db]
        return subprocess.run(
            [*cmd, "-qtAX", "-c", sql], check=True, capture_output=True, text=True, timeout=60
        ).stdout.strip()

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "DJANGO_SETTINGS_MODULE": "config.settings"}

    def django(self, script: str) -> str:
        """Run Python with Django set up against this cluster's database; returns stdout."""
        code = f"import django, sys; sys.path.insert(0, {str(ROOT)!r}); django.setup()\n{script}"
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=self.env(), check=True, capture_output=True, text=True
        ).stdout

    def stop(self) -> None:
        try:
            self.pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(max_connections: int = 60) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="cp-fault-"))
    root.chmod(0o755)
    cluster = Cluster(root, free_port())
    cluster.data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(cluster.data, "postgres")
        shutil.chown(root, "postgres")
    subprocess.run(
        _as_pg([str(PGBIN / "initdb"), "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C.UTF-8"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = ''\nport = {cluster.port}\nunix_socket_directories = '{root}'\n"
            f"max_connections = {max_connections}\nfsync = off\nfull_page_writes = off\n"
            "shared_buffers = 64MB\n"
        )
    cluster.pg_ctl("start")
    cluster.psql("CREATE ROLE cartoparty LOGIN SUPERUSER", user="postgres")
    cluster.psql(f"CREATE DATABASE {DB} OWNER cartoparty", user="postgres")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=cluster.env(), check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return cluster


WORLD = """
import datetime as dt, json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.gis.geos import Polygon
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import _get_new_csrf_string
from django.utils import timezone
from parties.models import Party, Town, User
area = Polygon.from_bbox((9.515, 47.135, 9.530, 47.145)); area.srid = 4326
town = Town.objects.create(slug="fault", name="Fault")
party = Party.objects.create(town=town, title_fr="Panne", title_en="Fault", area=area,
    starts_at=timezone.now() - dt.timedelta(hours=1), ends_at=timezone.now() + dt.timedelta(hours=4),
    rate_limit_per_minute=100000)
out = []
for i in range(__RESIDENTS__):
    user = User.objects.create(username=f"r{i}", nickname=f"R {i}", role="resident", town=town, party=party,
                               password="!")
    s = SessionStore(); s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash(); s.create()
    out.append([s.session_key, _get_new_csrf_string()])
print(json.dumps({"party": party.pk, "cookies": out}))
"""


def make_party(cluster: Cluster, residents: int) -> dict:
    return json.loads(cluster.django(WORLD.replace("__RESIDENTS__", str(residents))).strip().splitlines()[-1])


def start_gunicorn(cluster: Cluster, workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **cluster.env(),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", f"--bind=127.0.0.1:{port}",
         f"--workers={workers}", "--worker-class=gthread", f"--threads={threads}", "--log-level=error"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")

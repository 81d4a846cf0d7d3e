"""Event load: a busy cartoparty evening against gunicorn on this machine, over real HTTP.

    .venv/bin/python bench/event_load.py [--quick] [--residents 300] [--viewers 100] [--seconds 90]
                                         [--workers 3] [--threads 8] [--cold-tiles]

1. Set-up: its own database (cartoparty_bench_event) on the private cluster, the Liechtenstein demo
   extract imported once (reused by later runs; --db names another database), a party over central Vaduz, residents signed in
   (one session cookie each, created in the database as the join page would).
2. gunicorn (config.wsgi, gthread workers) on a free 127.0.0.1 port.
3. Open-loop evening: every resident saves a change every ~10 s on average (exponential gaps; one
   save in six starts a burst of three; from the first second as in the middle of the evening), and,
   like the page, reloads its pending layer after each save
   (GET /api/parties/<id>/features/?layers=pending over the party area); viewers pan the map (a move
   every 1-3 s at zoom 16-18) and, like the page (mapping/js/feature-tiles.js), ask for the map-data
   tiles of their 360x740 view they do not hold yet or got over a minute ago
   (GET /api/towns/<slug>/features/tiles/z/x/y), with If-None-Match once they have an ETag, as the
   browser does. Writes are POST /api/parties/<id>/edits/ (85 % new points through the preset
   picker, 10 % tag changes of published features, 5 % undo). The server's cache is Redis, as in
   production (BENCH_CACHE_URL, default redis://127.0.0.1:6390/15, keys prefixed by the database
   name); the town's tiles are forgotten at the start, then the warm-up looks once over the party
   area at zoom 16 (its 12 tiles get cached, as when the agent prepared the party on the map;
   --cold-tiles skips that: 500 phones then open the map on an empty cache). The load tool is an
   asyncio HTTP/1.1 client with keep-alive connections written here (no dependency), run in this
   process.
4. Maximum sustained edits/s: closed-loop writers at rising concurrency, each saving as fast as the
   server answers; the best rate whose p99 stays <= 1 s with no 5xx.
5. References on the same machine in the same run: building one map-data tile (zoom 15, the data of
   zoom 16) as the raw SQL
   query (what a cache miss costs, mapping.selectors, no HTTP or view), and GET /healthz (the HTTP +
   Django floor) through the same client; ratios are printed.

Targets (issue 3): writes p95 <= 300 ms and p99 <= 1 s, reads p95 <= 200 ms, zero 5xx; aim 200 edits/s.
Steps 3 and 4 run --rounds times (default 3); each figure is the median of the rounds with their
range, each target prints "met" or "NOT met" with the machine's state (BUSY MACHINE when it was not
quiet, bench/machine.py); exit status 0 all met, 1 one missed on a quiet machine, 2 on a busy one.
--quick: 60 residents, 20 viewers, 20 s, short throughput steps (< 2 minutes with the extract imported).
The per-resident rate limit is raised for the bench party, so the server is measured, not the limiter
(its counting query still runs on every save).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, ROOT, bench_db_url, ensure_bench_db, postgres_pid, table
from machine import MachineWatch, Spread, Targets, summarize

DB = "cartoparty_bench_event"  # bench/review.py also runs this script on it: use --db for a run beside it
DEMO_PBF = ROOT / "tests" / "data" / "extract" / "liechtenstein-2013-08-03.osm.pbf"
AREA = (9.515, 47.135, 9.530, 47.145)  # central Vaduz (west, south, east, north)


# ---------------------------------------------------------------- set-up (Django against the bench DB)
def setup_django(db: str) -> dict[str, str]:
    # The server's cache is Redis, shared by the workers as in production; the prefix keeps two bench
    # databases apart in it.
    os.environ.setdefault(
        "CARTOPARTY_CACHE_URL", os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6390/15")
    )
    os.environ["CARTOPARTY_CACHE_KEY_PREFIX"] = db
    env = ensure_bench_db(db)
    os.environ["DATABASE_URL"] = bench_db_url(db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return env


@dataclass
class World:
    party_id: int
    town_slug: str
    residents: list[tuple[str, str]]  # (sessionid, csrftoken)
    viewers: list[tuple[str, str]]
    nodes: list[tuple[int, int, list[float], dict]]  # published tagged nodes of the area


def build_world(n_residents: int, n_viewers: int) -> World:
    import datetime as dt

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.gis.geos import Polygon
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.middleware.csrf import _get_new_csrf_string
    from django.utils import timezone

    from core.geo import SRID
    from mapping.feature_tiles import invalidate_town
    from mapping.models import Node
    from mapping.osm_import import import_osm
    from parties.models import Party, Town, User

    town = Town.objects.filter(slug="vaduz").first()
    if town is None:
        started = time.perf_counter()
        print("importing the demo extract once (reused by later runs)...", flush=True)
        town = import_osm(DEMO_PBF, "vaduz", "Vaduz").town
        print(f"  imported in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cur:  # forget the previous run's evening (the map data stays)
        cur.execute(
            "TRUNCATE mapping_revision, parties_party, parties_user, django_session RESTART IDENTITY CASCADE"
        )
    invalidate_town(town.slug)  # every run starts with no map-data tile cached
    area = Polygon.from_bbox(AREA)
    area.srid = SRID
    party = Party.objects.create(
        town=town,
        title_fr="Cartopartie de charge",
        title_en="Load party",
        area=area,
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(hours=4),
        rate_limit_per_minute=100_000,
    )
    users = User.objects.bulk_create(
        User(
            username=f"bench-{i}",
            nickname=f"Resident {i}",
            role=User.Role.RESIDENT,
            town=town,
            party=party,
            password="!",  # noqa: S106 (not a password: "!" is Django's unusable mark, residents have none)
        )
        for i in range(n_residents + n_viewers)
    )
    cookies = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append((store.session_key, _get_new_csrf_string()))
    nodes = [
        (n.osm_id, n.version, [n.geom.x, n.geom.y], n.tags)
        for n in Node.objects.filter(town=town, visible=True, geom__within=area).exclude(tags={})[:500]
    ]
    return World(party.pk, town.slug, cookies[:n_residents], cookies[n_residents:], nodes)


# ---------------------------------------------------------------- gunicorn
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen:
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--keep-alive=30",
        "--backlog=2048",
        "--reuse-port",  # as docker-compose.yml: new connections spread evenly over the workers
        "--log-level=warning",
        *extra,
    ]
    server_env = {
        **env,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------- a small keep-alive HTTP/1.1 client
class Pool:
    """Keep-alive connections to one host:port, shared by the simulated people."""

    def __init__(self, port: int, size: int):
        self.port = port
        self.idle: asyncio.Queue = asyncio.Queue()
        self.slots = asyncio.Semaphore(size)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict, bytes]:
        async with self.slots:
            conn = None if self.idle.empty() else self.idle.get_nowait()
            for attempt in range(2):
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = conn
                head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
                # A callable value is evaluated as the request leaves (bench/load.py stamps
                # X-Request-Start then, as the reverse proxy would on arrival).
                head += [f"{k}: {v() if callable(v) else v}" for k, v in headers.items()]
                try:
                    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                    status, resp_headers, data = await read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    conn = None
                    if attempt:
                        raise
                    continue
                if resp_headers.get("connection", "").lower() == "close":
                    writer.close()
                else:
                    self.idle.put_nowait(conn)
                return status, resp_headers, data
        raise ConnectionError("unreachable")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        data = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        data = b"".join(c[:-2] for c in chunks)
    else:
        data = await reader.read()
    return status, headers, data


# ---------------------------------------------------------------- the simulated evening
@dataclass
class Stats:
    writes: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    @property
    def saved(self) -> int:
        """Answers that stored (or replayed) a revision."""
        return self.statuses.get(201, 0) + self.statuses.get(200, 0)

    @property
    def refused(self) -> int:
        return sum(n for s, n in self.statuses.items() if 400 <= s < 500)


def auth_headers(cookie: tuple[str, str]) -> dict[str, str]:
    session, csrf = cookie
    return {
        "Cookie": f"sessionid={session}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Referer": "http://127.0.0.1/",
        "Accept": "application/json",
    }


def random_point() -> list[float]:
    return [round(random.uniform(AREA[0], AREA[2]), 7), round(random.uniform(AREA[1], AREA[3]), 7)]


def edit_body(world: World) -> dict:
    roll = random.random()
    if roll < 0.10 and world.nodes:
        osm_id, version, coords, tags = random.choice(world.nodes)
        return {
            "element_type": "node", "element_id": osm_id, "action": "modify", "base_version": version,
            "after": {"tags": {**tags, "check_date": "2026-11-22"}, "geometry": {"type": "Point", "coordinates": coords}},
            "idempotency_key": str(uuid.uuid4()),
        }  # fmt: skip
    return {
        "element_type": "node", "action": "create", "preset": "amenity/bench",
        "after": {"tags": [["amenity", "bench"], ["backrest", random.choice(["yes", "no"])]],
                  "geometry": {"type": "Point", "coordinates": random_point()}},
        "idempotency_key": str(uuid.uuid4()),
    }  # fmt: skip


AREA_BBOX = ",".join(str(v) for v in AREA)
PHONE = (360, 740)  # screen pixels
REVALIDATE_S = 60  # feature-tiles.js asks again for a tile it got over a minute ago
KEEP_TILES = 96  # ... and keeps this many out of view


def tiles_in_view(lon: float, lat: float, zoom: int) -> list[tuple[int, int, int]]:
    """The map-data tiles a 360x740 screen centred on (lon, lat) at ``zoom`` shows, as feature-tiles.js
    computes them (Web Mercator pixels at the data zoom)."""
    from mapping.feature_tiles import tile_zoom

    z = tile_zoom(zoom)
    world = 256 * 2**z
    cx = (lon + 180) / 360 * world
    cy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * world
    half_w, half_h = (PHONE[0] / 2 / 2 ** (zoom - z), PHONE[1] / 2 / 2 ** (zoom - z))
    xs = range(math.floor((cx - half_w) / 256), math.floor((cx + half_w) / 256) + 1)
    ys = range(math.floor((cy - half_h) / 256), math.floor((cy + half_h) / 256) + 1)
    return [(z, x, y) for x in xs for y in ys]


async def timed(
    pool: Pool, stats: Stats, bucket: list[float], method: str, path: str, headers: dict, body: bytes = b""
) -> tuple[int, dict]:
    """One request, its time in ``bucket``: (status, response headers); (0, {}) on a connection error."""
    started = time.perf_counter()
    try:
        status, resp_headers, _data = await pool.request(method, path, headers, body)
    except (OSError, asyncio.IncompleteReadError):
        stats.errors += 1
        return 0, {}
    bucket.append(time.perf_counter() - started)
    stats.count(status)
    return status, resp_headers


def seconds_left(until: float) -> float:
    return max(0.0, until - time.perf_counter())


async def save(pool: Pool, world: World, stats: Stats, cookie, base: str) -> None:
    headers = {**auth_headers(cookie), "Content-Type": "application/json"}
    if random.random() < 0.05:
        await timed(pool, stats, stats.writes, "POST", f"{base}/edits/undo/", headers)
        return
    body = edit_body(world)
    await timed(pool, stats, stats.writes, "POST", f"{base}/edits/", headers, json.dumps(body).encode())
    # Like the page: after a save only my pending layer (the whole party area) is fetched again; the
    # published tiles are unchanged (changes wait for review).
    await timed(
        pool,
        stats,
        stats.reads,
        "GET",
        f"{base}/features/?layers=pending&bbox={AREA_BBOX}",
        auth_headers(cookie),
    )


async def resident(pool: Pool, world: World, stats: Stats, cookie, base: str, until: float) -> None:
    # The evening is already under way: the wait for the first save is the rest of a gap in progress
    # (exponential gaps: a whole one; a long one, after a burst, 3/8 of the time). Starting everyone
    # within 10 s instead made the first 10 s carry twice the evening's saves (bench/load.py --trace).
    first_gap = 30 if random.random() < 3 / 8 else 10
    await asyncio.sleep(min(random.expovariate(1 / first_gap), seconds_left(until)))
    while time.perf_counter() < until:
        burst = 3 if random.random() < 1 / 6 else 1
        for _ in range(burst):
            await save(pool, world, stats, cookie, base)
        await asyncio.sleep(min(random.expovariate(1 / (10 * burst)), seconds_left(until)))


async def viewer(pool: Pool, stats: Stats, cookie, tiles_base: str, until: float) -> None:
    """A phone panning the party map: the tiles of the view it does not hold (or got over a minute
    ago), all at once, as feature-tiles.js; the browser's HTTP cache adds If-None-Match."""
    lon, lat = random_point()
    held: dict[tuple[int, int, int], float] = {}  # the page's tiles: when each was got (oldest first)
    etags: dict[tuple[int, int, int], str] = {}  # the browser's HTTP cache

    async def get(tile: tuple[int, int, int]) -> None:
        headers = auth_headers(cookie) | {
            "Accept": "application/geo+json",
            "Accept-Encoding": "gzip, deflate, br",
        }
        if tile in etags:
            headers["If-None-Match"] = etags[tile]
        status, resp_headers = await timed(
            pool, stats, stats.reads, "GET", f"{tiles_base}/{'/'.join(map(str, tile))}", headers
        )
        if status in (200, 304):
            held.pop(tile, None)
            held[tile] = time.perf_counter()
            if "etag" in resp_headers:
                etags[tile] = resp_headers["etag"]

    await asyncio.sleep(random.uniform(0, min(10, seconds_left(until))))  # phones open the map over 10 s
    while time.perf_counter() < until:
        zoom = random.choice([16, 17, 18])
        lon = min(max(lon + random.uniform(-0.001, 0.001), AREA[0]), AREA[2])
        lat = min(max(lat + random.uniform(-0.0007, 0.0007), AREA[1]), AREA[3])
        view = tiles_in_view(lon, lat, zoom)
        now = time.perf_counter()
        await asyncio.gather(*(get(t) for t in view if now - held.get(t, -1e9) > REVALIDATE_S))
        for tile in list(held)[: max(0, len(held) - KEEP_TILES - len(view))]:
            if tile not in view:
                del held[tile]
        await asyncio.sleep(min(random.uniform(1, 3), seconds_left(until)))


async def evening(port: int, world: World, seconds: float) -> tuple[Stats, float]:
    pool = Pool(port, size=256)
    stats = Stats()
    base = f"/api/parties/{world.party_id}"
    tiles_base = f"/api/towns/{world.town_slug}/features/tiles"
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(resident(pool, world, stats, c, base, until) for c in world.residents),
        *(viewer(pool, stats, c, tiles_base, until) for c in world.viewers),
    )
    return stats, time.perf_counter() - started


async def saturate(port: int, world: World, concurrency: int, seconds: float) -> tuple[Stats, float]:
    """Closed loop: ``concurrency`` residents each saving again as soon as the last save answered."""
    pool = Pool(port, size=concurrency)
    stats = Stats()
    base = f"/api/parties/{world.party_id}"
    until = time.perf_counter() + seconds
    started = time.perf_counter()

    async def writer(cookie) -> None:
        headers = {**auth_headers(cookie), "Content-Type": "application/json"}
        while time.perf_counter() < until:
            body = json.dumps(edit_body(world)).encode()
            await timed(pool, stats, stats.writes, "POST", f"{base}/edits/", headers, body)

    await asyncio.gather(*(writer(world.residents[i % len(world.residents)]) for i in range(concurrency)))
    return stats, time.perf_counter() - started


async def warm_up(port: int, world: World, requests: int, tiles: bool = True) -> None:
    """Open every worker thread's database connection and load lazy modules before measuring; with
    ``tiles``, also look once over the party area at zoom 16 (the map-data tiles get cached, as when
    the agent prepared the party on its map before the evening)."""
    pool = Pool(port, size=32)
    stats = Stats()
    base = f"/api/parties/{world.party_id}"
    if tiles:
        from mapping.feature_tiles import tile_ranges, tile_zoom

        z = tile_zoom(16)
        xs, ys = tile_ranges(AREA, z)
        headers = {"Accept-Encoding": "gzip"}
        await asyncio.gather(
            *(timed(pool, stats, stats.reads, "GET", f"/api/towns/{world.town_slug}/features/tiles/{z}/{x}/{y}", headers)
              for x in xs for y in ys)
        )  # fmt: skip

    async def one(i: int) -> None:
        cookie = world.viewers[i % len(world.viewers)] if world.viewers else world.residents[0]
        await timed(
            pool,
            stats,
            stats.reads,
            "GET",
            f"{base}/features/?layers=pending&bbox={AREA_BBOX}",
            auth_headers(cookie),
        )
        await timed(pool, stats, stats.reads, "GET", f"{base}/presets/", auth_headers(cookie))

    await asyncio.gather(*(one(i) for i in range(requests)))


async def healthz(port: int, n: int) -> list[float]:
    pool = Pool(port, size=1)
    stats = Stats()
    for _ in range(n):
        await timed(pool, stats, stats.reads, "GET", "/healthz", {})
    return stats.reads


def sql_reference(world: World, n: int) -> list[float]:
    """Building one map-data tile of the area (zoom 15, the data of zoom 16) as raw SQL in this process (a cache miss, without
    HTTP, view or cache)."""
    from mapping.feature_tiles import Tile
    from mapping.selectors import features_geojson_for_town
    from parties.models import Town

    town = Town.objects.get(slug=world.town_slug)
    out = []
    for _ in range(n):
        tile = Tile(*random.choice(tiles_in_view(*random_point(), 16)))
        started = time.perf_counter()
        features_geojson_for_town(town, tile.bbox(), tile.detail_zoom)
        out.append(time.perf_counter() - started)
    return out


# ---------------------------------------------------------------- report
def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


@dataclass
class EventRound:
    """One evening and its closed-loop steps."""

    stats: Stats
    elapsed: float
    steps: list[tuple[int, Stats, float]]

    @property
    def best(self) -> tuple[int, float]:
        """(writers, edits/s) of the best closed-loop step with p99 <= 1 s and every save stored."""
        ok = [(c, s.saved / t) for c, s, t in self.steps
              if pct(s.writes, 99) <= 1000 and s.server_errors == 0 and s.errors == 0 and s.refused == 0]  # fmt: skip
        return max(ok, key=lambda x: x[1]) if ok else (0, 0.0)


TARGETS = [  # (figure, bucket, percentile, at most ms)
    ("evening writes p95", "writes", 95, 300),
    ("evening writes p99", "writes", 99, 1000),
    ("evening reads p95", "reads", 95, 200),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--residents", type=int)
    parser.add_argument("--viewers", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--workers", type=int, default=3)  # as docker-compose.yml
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--steps", help="closed-loop writer counts, e.g. 8,16,32")
    parser.add_argument("--rounds", type=int, default=3,
                        help="evenings (each figure: the median of the rounds and their range); "
                             "fewer than 3 only as background load (bench/review.py --event-load)")  # fmt: skip
    parser.add_argument("--db", default=DB, help="bench database (two runs at once need two databases)")
    parser.add_argument(
        "--cold-tiles", action="store_true", help="start the evening with no map-data tile cached"
    )
    args = parser.parse_args()
    residents = args.residents or (60 if args.quick else 300)
    viewers = args.viewers or (20 if args.quick else 100)
    seconds = args.seconds or (20 if args.quick else 90)
    steps = (
        [int(x) for x in args.steps.split(",")]
        if args.steps
        else [8, 16, 32]
        if args.quick
        else [8, 16, 32, 64]
    )
    step_seconds = 6 if args.quick else 20

    watch = MachineWatch.before_run(5)  # before this process starts any work
    if pid := postgres_pid():
        watch.add(pid)
    env = setup_django(args.db)
    world = build_world(residents, viewers)
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.threads)
    rounds: list[EventRound] = []
    try:
        asyncio.run(warm_up(port, world, 200, tiles=not args.cold_tiles))
        sql_ref = sql_reference(world, 200)
        floor = asyncio.run(healthz(port, 300))
        print(f"evening: {residents} residents + {viewers} viewers for {seconds:.0f} s, {args.rounds} rounds "
              f"(gunicorn {args.workers} workers x {args.threads} threads, 2 cores shared with the load tool)", flush=True)  # fmt: skip
        for n in range(1, args.rounds + 1):
            stats, elapsed = asyncio.run(evening(port, world, seconds))
            steps_out = []
            for c in steps:
                s, t = asyncio.run(saturate(port, world, c, step_seconds))
                steps_out.append((c, s, t))
                print(
                    f"  round {n}, closed loop {c:>3} writers: {s.saved / t:6.1f} edits/s, p99 "
                    f"{pct(s.writes, 99):6.0f} ms, {s.refused} 4xx, {s.server_errors} 5xx",
                    flush=True,
                )
            rounds.append(EventRound(stats, elapsed, steps_out))
    finally:
        stop(server)
    watch.after_run()

    def figure(bucket: str, p: float) -> Spread:
        return summarize(pct(getattr(r.stats, bucket), p) for r in rounds)

    def rate(bucket: str) -> str:
        return summarize(len(getattr(r.stats, bucket)) / r.elapsed for r in rounds).format(1)

    rows = [
        ["writes (POST edits)", summarize(len(r.stats.writes) for r in rounds).format(), rate("writes"),
         *(figure("writes", p).format() for p in (50, 95, 99)), "p95 <= 300, p99 <= 1000"],
        ["reads (GET map data)", summarize(len(r.stats.reads) for r in rounds).format(), rate("reads"),
         *(figure("reads", p).format() for p in (50, 95, 99)), "p95 <= 200"],
        ["ref: one tile built, raw SQL", len(sql_ref), "", f"{pct(sql_ref, 50):.1f}", f"{pct(sql_ref, 95):.1f}",
         f"{pct(sql_ref, 99):.1f}", ""],
        ["ref: GET /healthz (idle)", len(floor), "", f"{pct(floor, 50):.1f}", f"{pct(floor, 95):.1f}",
         f"{pct(floor, 99):.1f}", ""],
    ]  # fmt: skip
    print(f"\nmedian (min-max) of {len(rounds)} rounds\n")
    print(table(["request", "count", "per s", "p50 ms", "p95 ms", "p99 ms", "target"], rows))
    print()
    errors = sum(r.stats.server_errors + r.stats.errors for r in rounds)
    statuses: dict[int, int] = {}
    for r in rounds:
        for status, count in r.stats.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    print(f"5xx and connection errors (all rounds): {errors}   statuses: {dict(sorted(statuses.items()))}")
    print(f"read p50 / raw SQL p50: {figure('reads', 50).median / pct(sql_ref, 50):.1f}x   "
          f"write p50 / healthz p50: {figure('writes', 50).median / pct(floor, 50):.1f}x")  # fmt: skip
    best = summarize(r.best[1] for r in rounds)
    print(f"max sustained edits/s (closed loop, p99 <= 1 s, every save stored): {best.format()} "
          f"(writers: {', '.join(str(r.best[0]) for r in rounds)})   (aim: 200, not a target)\n")  # fmt: skip
    targets = Targets("event_load", watch)
    for name, bucket, p, target in TARGETS:
        value = figure(bucket, p)
        targets.check(name, round(value.median), target, "ms", ours=f"{value.format()} ms")
    targets.check("evening 5xx and connection errors", errors, 0)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "event_load.json").write_text(
        json.dumps(
            {
                "residents": residents,
                "viewers": viewers,
                "seconds": seconds,
                "workers": args.workers,
                "threads": args.threads,
                "rounds": [
                    {
                        "writes_ms": {p: pct(r.stats.writes, p) for p in (50, 95, 99)},
                        "reads_ms": {p: pct(r.stats.reads, p) for p in (50, 95, 99)},
                        "server_errors": r.stats.server_errors,
                        "statuses": r.stats.statuses,
                        "max_edits_per_s": r.best[1],
                        "steps": [
                            {
                                "writers": c,
                                "edits_per_s": s.saved / t,
                                "p99_ms": pct(s.writes, 99),
                                "4xx": s.refused,
                            }
                            for c, s, t in r.steps
                        ],
                    }
                    for r in rounds
                ],
                "sql_ref_ms": {p: pct(sql_ref, p) for p in (50, 95, 99)},
                "healthz_ms": {p: pct(floor, p) for p in (50, 95, 99)},
                "machine": {
                    "idle_before": watch.idle_before,
                    "load_before": watch.load_before,
                    "foreign_share": watch.foreign_share,
                    "busy": watch.busy,
                },
            },
            indent=1,
        )  # fmt: skip
    )
    return targets.finish()


if __name__ == "__main__":
    sys.exit(main())

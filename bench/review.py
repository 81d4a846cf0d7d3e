"""Review benchmark: bulk accept of 10,000 pending revisions, and the p95 of a single review action.

    .venv/bin/python bench/review.py [--revisions 10000] [--singles 200] [--quick]

1. Bulk accept (review.services.bulk_accept of a whole party: locks, version checks, store writes,
   derived geometry, status updates and the decision log) against the reference: a raw SQL UPDATE
   of the same revision rows' status (what a review would cost if it changed nothing else), run
   first and rolled back. Target: <= 5 s for 10,000 (the median of --repeat runs, at least 3).
2. Single accept over real HTTP (POST /api/review/revisions/<id>/accept/ against gunicorn, 3 gthread
   workers, session auth): p50/p95 idle, then while 4 other agents review (accepting, reading the
   queue and revision pages), and with --event-load while the parties area's evening load
   (bench/event_load.py --quick: residents saving edits and viewers panning, against gunicorn on the
   same machine and cluster) runs. Target: p95 <= 300 ms (the median of 3 rounds of --singles).

Each target prints "met" or "NOT met", with the machine's state (BUSY MACHINE when it was not quiet,
bench/machine.py); exit status 0 all met, 1 one missed on a quiet machine, 2 missed on a busy one.

Runs against its own database (cartoparty_bench_review) on the private cluster.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, ROOT, bench_db_url, ensure_bench_db, postgres_pid, table
from machine import MachineWatch, Spread, Targets, summarize

DB = "cartoparty_bench_review"
ROUNDS = 3  # every figure is the median of this many rounds, with their range
BULK_SECONDS, SINGLE_P95_MS = 5, 300  # targets (issue 6): bulk accept of 10,000; one accept over HTTP


def setup_django() -> None:
    ensure_bench_db(DB)
    os.environ["DATABASE_URL"] = bench_db_url(DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE mapping_reviewdecision, mapping_revision, mapping_node, mapping_way, mapping_relation, "
            "parties_party, parties_town, parties_user CASCADE"
        )


def world(n_residents: int = 50):
    """A town, a party around central Vaduz, two agents and residents."""
    import datetime as dt

    from django.contrib.gis.geos import Polygon
    from django.utils import timezone

    from core.geo import SRID
    from parties.models import Party, Town, User

    town = Town.objects.create(slug="bench", name="Bench town")
    area = Polygon.from_bbox((9.50, 47.12, 9.54, 47.16))
    area.srid = SRID
    party = Party.objects.create(
        town=town,
        title_fr="Banc d'essai",
        area=area,
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(hours=3),
    )
    agents = [User.objects.create_user(f"agent{i}", role="agent", town=town) for i in range(6)]
    residents = User.objects.bulk_create(
        [
            User(username=f"r{i}", nickname=f"R{i}", role="resident", town=town, party=party)
            for i in range(n_residents)
        ]
    )
    return town, party, agents, residents


def pending_revisions(town, party, residents, n: int) -> list[int]:
    """n pending revisions: 70 % new points, 10 % new buildings (4 new vertices each), 20 % changes
    to published points (tags and moves)."""
    from django.contrib.gis.geos import Point
    from django.db import connection
    from django.db.models import Max

    from core.geo import SRID
    from mapping.models import Node, Revision
    from mapping.store import next_local_id

    n_modify = n // 5
    first_id = (Node.objects.filter(town=town).aggregate(top=Max("osm_id"))["top"] or 10_000_000) + 1
    published = Node.objects.bulk_create(
        [
            Node(
                town=town,
                osm_id=first_id + i,
                version=1,
                base_version=1,
                tags={"amenity": "bench"},
                geom=Point(9.50 + (i % 200) * 2e-4, 47.12 + (i // 200) * 2e-4, srid=SRID),
            )
            for i in range(n_modify)
        ]
    )
    rows = []
    for i in range(n):
        lon, lat = 9.505 + (i % 150) * 2e-4, 47.125 + (i // 150) * 2e-4
        if i < n_modify:
            node = published[i]
            before = {
                "tags": node.tags,
                "version": 1,
                "geometry": {"type": "Point", "coordinates": [node.geom.x, node.geom.y]},
            }
            after = {"tags": {"amenity": "bench", "backrest": "yes"}, "geometry": before["geometry"]}
            if i % 2:
                after["geometry"] = {"type": "Point", "coordinates": [node.geom.x + 1e-5, node.geom.y]}
            rows.append(
                Revision(
                    town=town,
                    party=party,
                    author=residents[i % len(residents)],
                    element_type="node",
                    element_id=node.osm_id,
                    action="modify",
                    base_version=1,
                    before=before,
                    after=after,
                    geom_before=node.geom,
                    geom_after=Point(*after["geometry"]["coordinates"], srid=SRID),
                    preset="amenity/bench",
                )
            )
        elif i < n_modify + n // 10:
            square = [
                [None, lon, lat],
                [None, lon + 5e-5, lat],
                [None, lon + 5e-5, lat + 5e-5],
                [None, lon, lat + 5e-5],
            ]
            rows.append(
                Revision(
                    town=town,
                    party=party,
                    author=residents[i % len(residents)],
                    element_type="way",
                    element_id=next_local_id(),
                    action="create",
                    after={"tags": {"building": "yes"}, "nodes": square, "closed": True},
                    preset="building",
                )
            )
        else:
            after = {
                "tags": {"amenity": "waste_basket"},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
            rows.append(
                Revision(
                    town=town,
                    party=party,
                    author=residents[i % len(residents)],
                    element_type="node",
                    element_id=next_local_id(),
                    action="create",
                    after=after,
                    geom_after=Point(lon, lat, srid=SRID),
                    preset="amenity/waste_basket",
                )
            )
    created = [r.pk for r in Revision.objects.bulk_create(rows, batch_size=2000)]
    with connection.cursor() as cur:  # fresh statistics, as autovacuum would have them on a live site
        cur.execute("ANALYZE mapping_revision, mapping_node")
    return created


def bench_bulk(n: int, repeat: int) -> tuple[Spread, Spread]:
    """Seconds of ``repeat`` runs (ours, the reference), each on a fresh queue: the machine may be shared."""
    from django.db import connection, transaction

    from review import services as review

    ours, raw = [], []
    for _ in range(repeat):
        reset()
        town, party, agents, residents = world()
        ids = pending_revisions(town, party, residents, n)
        # Reference: the same rows' status, in raw SQL, then rolled back so they are pending again.
        with transaction.atomic():
            start = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute(
                    "UPDATE mapping_revision SET status = 'accepted', reviewer_id = %s, reviewed_at = now() "
                    "WHERE id = ANY(%s)",
                    [agents[0].pk, ids],
                )
            raw.append(time.perf_counter() - start)
            transaction.set_rollback(True)
        start = time.perf_counter()
        result = review.bulk_accept(town, agents[0], party=party)
        ours.append(time.perf_counter() - start)
        assert len(result.decided) == n, (len(result.decided), list(result.conflicts.items())[:3])
    return summarize(ours), summarize(raw)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ------------------------------------------------------------------ over real HTTP, against gunicorn
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    """gunicorn (3 gthread workers x 8 threads, as bench/event_load.py) on the bench database."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", f"--bind=127.0.0.1:{port}",
           "--workers=3", "--worker-class=gthread", "--threads=8", "--keep-alive=30", "--log-level=warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(proc)
    raise SystemExit("gunicorn did not start")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


class Agent:
    """One signed-in agent (a session made as the sign-in page would) on a keep-alive connection."""

    def __init__(self, user, port: int):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.middleware.csrf import _get_new_csrf_string

        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        csrf = _get_new_csrf_string()
        self.headers = {
            "Cookie": f"sessionid={store.session_key}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Referer": f"http://127.0.0.1:{port}/",
            "Content-Type": "application/json",
        }
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str) -> int:
        for attempt in (1, 2):  # gunicorn closes idle keep-alive connections: reconnect once
            try:
                self.conn.request(
                    method, path, body=b"{}" if method == "POST" else None, headers=self.headers
                )
                resp = self.conn.getresponse()
                resp.read()
                return resp.status
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def accepts(self, ids: list[int]) -> list[float]:
        times = []
        for pk in ids:
            start = time.perf_counter()
            status = self.call("POST", f"/api/review/revisions/{pk}/accept/")
            times.append((time.perf_counter() - start) * 1000)
            assert status == 200, status
        return times


def reviewing(stop: threading.Event, agent: Agent, revision_ids: list[int], counter: list[int]) -> None:
    """Another agent accepting and browsing the queue and the revision pages, non-stop."""
    for pk in revision_ids:
        if stop.is_set():
            break
        agent.call("POST", f"/api/review/revisions/{pk}/accept/")
        agent.call("GET", "/manage/review/")
        agent.call("GET", f"/manage/review/{pk}/")
        counter[0] += 3


@dataclass
class Single:
    """One single-accept case: p50, p95 and max of each round of accepts."""

    label: str
    rounds: list[list[float]]
    target: bool = True  # the stress case (no pause between other agents' requests) has none

    def figure(self, pct: float) -> Spread:
        return summarize(percentile(times, pct) if pct < 100 else max(times) for times in self.rounds)

    def row(self) -> list[str]:
        return [self.label, *(f"{self.figure(p).format()} ms" for p in (50, 95, 100)),
                f"p95 <= {SINGLE_P95_MS} ms" if self.target else ""]  # fmt: skip


def in_rounds(ids: list[int], accept) -> list[list[float]]:
    """``accept`` the ids in ROUNDS consecutive rounds of equal size."""
    size = len(ids) // ROUNDS
    return [accept(ids[i * size : (i + 1) * size]) for i in range(ROUNDS)]


def bench_single(n: int, event_load: bool) -> tuple[list[Single], str]:
    """p50/p95 of one accept over HTTP, ``n`` accepts a round: idle, with 4 other agents reviewing,
    and (optionally) while bench/event_load.py --quick (the parties' evening, its own gunicorn and
    database) runs."""
    reset()
    town, party, agents, residents = world()
    ids = pending_revisions(town, party, residents, n * 14 + 2000)  # a realistic queue around them
    port = free_port()
    server = start_gunicorn(port)
    rows, output = [], ""
    try:
        me = Agent(agents[0], port)
        me.accepts(ids[:10])  # warm-up
        idle = ids[10 : 10 + ROUNDS * n]
        rows.append(Single("single accept via HTTP (gunicorn), idle", in_rounds(idle, me.accepts)))
        rest = ids[10 + ROUNDS * n :]
        stop, counter = threading.Event(), [0]
        others = [Agent(agents[i + 1], port) for i in range(4)]
        loaders = [
            threading.Thread(target=reviewing, args=(stop, a, rest[i : 4 * n * 2 : 4], counter))
            for i, a in enumerate(others)
        ]
        for t in loaders:
            t.start()
        start = time.perf_counter()
        busy = in_rounds(rest[-ROUNDS * n :], me.accepts)
        rate = counter[0] / (time.perf_counter() - start)
        stop.set()
        for t in loaders:
            t.join()
        rows.append(Single(f"single accept, 4 other agents reviewing ({rate:.0f} req/s)", busy, target=False))
        if event_load:
            more = pending_revisions(town, party, residents, ROUNDS * n)
            busy, output = during_event_load(me, more)
            rows.append(Single("single accept, during bench/event_load.py --quick", busy))
    finally:
        stop_gunicorn(server)
    return rows, output


def during_event_load(me: Agent, ids: list[int]) -> tuple[list[list[float]], str]:
    """Start bench/event_load.py --quick, wait for its open-loop evening, measure, let it finish."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    load = subprocess.Popen(
        [PYTHON, "bench/event_load.py", "--quick", "--seconds", "60", "--rounds", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    for line in load.stdout:
        output.append(line)
        if line.startswith("evening:"):
            break
    else:
        load.wait()
        raise SystemExit("event_load.py ended before its evening:\n" + "".join(output))
    time.sleep(3)  # let the open loop ramp up
    me.call("GET", "/healthz")  # reopen the keep-alive connection left idle during the set-up
    times = in_rounds(ids, me.accepts)
    output.extend(load.stdout)
    load.wait()
    return times, "".join(line for line in output if not line.startswith(("Forbidden", "Bad Request")))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--revisions", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=200, help="single accepts per round")
    parser.add_argument("--quick", action="store_true", help="1,000 revisions, 50 single accepts a round")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=ROUNDS, help="bulk runs (the median is reported)")
    parser.add_argument("--event-load", action="store_true", help="also measure during bench/event_load.py")
    args = parser.parse_args()
    if args.quick:
        args.revisions, args.singles = 1000, 50
    if args.repeat < 3:
        parser.error("--repeat: at least 3 (a median and a spread)")
    watch = MachineWatch.before_run(5)  # before this process starts any work
    if pid := postgres_pid():
        watch.add(pid)
    setup_django()
    singles, event_output = bench_single(args.singles, args.event_load)
    ours, ref = bench_bulk(args.revisions, args.repeat)
    watch.after_run()
    bulk = f"bulk accept of {args.revisions:,} pending revisions"
    if args.json:
        print(json.dumps({"bulk_s": vars(ours), "reference_s": vars(ref),
                          "singles_ms": {s.label: s.rounds for s in singles}}))  # fmt: skip
    else:
        print(
            f"median (min-max) of {args.repeat} bulk runs and of {ROUNDS} rounds of {args.singles} single accepts\n"
        )
        print(table(["case", "Cartoparty", "reference", "ratio", "target"],
                    [[bulk, f"{ours.format(2)} s", f"{ref.format(2)} s", f"{ours.median / ref.median:.1f}x",
                      f"<= {BULK_SECONDS} s"]]))  # fmt: skip
        print()
        print(table(["case", "p50", "p95", "max", "target"], [s.row() for s in singles]))
        if event_output:
            print("\nbench/event_load.py meanwhile:\n" + event_output)
        print()
    targets = Targets("review", watch)
    targets.check(bulk, round(ours.median, 3), BULK_SECONDS, "s", ours=f"{ours.format(2)} s")
    for single in singles:
        if single.target:
            p95 = single.figure(95)
            targets.check(
                f"{single.label}, p95", round(p95.median), SINGLE_P95_MS, "ms", ours=f"{p95.format()} ms"
            )
    return targets.finish()


if __name__ == "__main__":
    sys.exit(main())

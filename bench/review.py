"""Review benchmark: bulk accept of 10,000 pending revisions, and the p95 of a single review action.

    .venv/bin/python bench/review.py [--revisions 10000] [--singles 200] [--quick]

1. Bulk accept (mapping.review.bulk_accept of a whole party: locks, version checks, store writes,
   derived geometry, status updates and the decision log) against the reference: a raw SQL UPDATE
   of the same revision rows' status (what a review would cost if it changed nothing else), run
   first and rolled back. Target: <= 5 s for 10,000.
2. Single accept through the HTTP API (POST /api/review/revisions/<id>/accept/, Django test client,
   session auth): p50/p95 idle, then while a party-evening load runs in other threads (agents
   accepting, others reading the queue and the revision pages). Target: p95 <= 300 ms.

Runs against its own database (cartoparty_bench_review) on the private cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, bench_db_url, ensure_bench_db, table  # noqa: E402

DB = "cartoparty_bench_review"


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

    from parties.models import Party, Town, User

    town = Town.objects.create(slug="bench", name="Bench town")
    area = Polygon.from_bbox((9.50, 47.12, 9.54, 47.16))
    area.srid = 4326
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
    """n pending revisions: 80 % new points, 20 % changes to published points (tags and moves)."""
    from django.contrib.gis.geos import Point

    from mapping.models import Node, Revision
    from mapping.store import next_local_id

    n_modify = n // 5
    published = Node.objects.bulk_create(
        [
            Node(
                town=town,
                osm_id=10_000_000 + i,
                version=1,
                base_version=1,
                tags={"amenity": "bench"},
                geom=Point(9.50 + (i % 200) * 2e-4, 47.12 + (i // 200) * 2e-4, srid=4326),
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
                    geom_after=Point(*after["geometry"]["coordinates"], srid=4326),
                    preset="amenity/bench",
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
                    geom_after=Point(lon, lat, srid=4326),
                    preset="amenity/waste_basket",
                )
            )
    return [r.pk for r in Revision.objects.bulk_create(rows, batch_size=2000)]


def bench_bulk(n: int) -> list[list[str]]:
    from django.db import connection, transaction

    from mapping import review

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
        raw = time.perf_counter() - start
        transaction.set_rollback(True)
    start = time.perf_counter()
    result = review.bulk_accept(town, agents[0], party=party)
    ours = time.perf_counter() - start
    assert len(result.decided) == n, (len(result.decided), list(result.conflicts.items())[:3])
    return [
        [
            f"bulk accept of {n:,} pending revisions",
            f"{ours:.2f} s",
            f"{raw:.2f} s",
            f"{ours / raw:.1f}x",
            "<= 5 s",
        ]
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_accepts(client, ids: list[int]) -> list[float]:
    times = []
    for pk in ids:
        start = time.perf_counter()
        resp = client.post(f"/api/review/revisions/{pk}/accept/", content_type="application/json")
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, (resp.status_code, resp.content[:200])
    return times


def party_load(stop: threading.Event, agent, revision_ids: list[int], counter: list[int]) -> None:
    """Another agent accepting revisions and browsing the queue and revision pages, non-stop."""
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(agent)
    try:
        for pk in revision_ids:
            if stop.is_set():
                break
            client.post(f"/api/review/revisions/{pk}/accept/", content_type="application/json")
            client.get("/manage/review/")
            client.get(f"/manage/review/{pk}/")
            counter[0] += 3
    finally:
        connection.close()


def bench_single(n: int) -> list[list[str]]:
    from django.test import Client

    reset()
    town, party, agents, residents = world()
    ids = pending_revisions(town, party, residents, n * 6 + 2000)  # a realistic queue around the tested ones
    client = Client()
    client.force_login(agents[0])
    timed_accepts(client, ids[:10])  # warm-up
    idle = timed_accepts(client, ids[10 : 10 + n])
    rest = ids[10 + n :]
    stop = threading.Event()
    counter = [0]
    loaders = [
        threading.Thread(target=party_load, args=(stop, agents[i + 1], rest[i::4], counter)) for i in range(4)
    ]
    for t in loaders:
        t.start()
    start = time.perf_counter()
    busy = timed_accepts(client, rest[-n:])
    elapsed = time.perf_counter() - start
    stop.set()
    for t in loaders:
        t.join()
    rows = []
    for label, times in (("idle", idle), (f"with 4 agents busy ({counter[0] / elapsed:.0f} req/s)", busy)):
        rows.append(
            [
                f"single accept via HTTP API, {label}",
                f"p50 {statistics.median(times):.0f} ms",
                f"p95 {percentile(times, 95):.0f} ms",
                f"max {max(times):.0f} ms",
                "p95 <= 300 ms",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--revisions", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="1,000 revisions, 50 single accepts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.revisions, args.singles = 1000, 50
    setup_django()
    rows = bench_bulk(args.revisions) + bench_single(args.singles)
    if args.json:
        print(json.dumps(rows))
        return
    print(table(["case", "Cartoparty", "reference", "ratio", "target"], rows[:1]))
    print()
    print(table(["case", "p50", "p95", "max", "target"], rows[1:]))


if __name__ == "__main__":
    main()

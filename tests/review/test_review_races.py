"""Races run for real: threads with their own database connections, committing against PostGIS.

Exactly one of two competing decisions wins; the other gets a Conflict (409) and nothing is applied twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from mapping.models import Node, ReviewDecision, Revision
from mapping.store import Conflict
from review import services as review
from tests.factories import AgentFactory, NodeFactory, PartyFactory, ResidentFactory, RevisionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.transactional]


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at the same moment, each in its own thread (and database connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def outcomes(results: list[object]) -> tuple[list[object], list[object]]:
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    return wins, losses


def test_two_agents_accepting_the_same_revision():
    party = PartyFactory()
    first, second = AgentFactory(town=party.town), AgentFactory(town=party.town)
    resident = ResidentFactory(party=party)
    for _ in range(3):  # a few rounds: the order in which the threads reach the lock varies
        rev = RevisionFactory(party=party, author=resident)
        wins, losses = outcomes(
            race(
                lambda rev=rev: review.accept_revision(rev, first),
                lambda rev=rev: review.accept_revision(rev, second),
            )
        )
        assert len(wins) == 1 and len(losses) == 1 and isinstance(losses[0], Conflict)
        assert ReviewDecision.objects.filter(revision=rev).count() == 1
        assert Node.objects.get(town=party.town, osm_id=rev.element_id).version == 1


def test_accept_racing_a_newer_change_of_the_same_element():
    party = PartyFactory()
    agents = [AgentFactory(town=party.town) for _ in range(2)]
    resident = ResidentFactory(party=party)
    node = NodeFactory(town=party.town, tags={"amenity": "bench"})
    geometry = {"type": "Point", "coordinates": [9.5209, 47.1410]}
    red = RevisionFactory.modify(
        node, {"tags": {"colour": "red"}, "geometry": geometry}, party=party, author=resident
    )
    blue = RevisionFactory.modify(
        node, {"tags": {"colour": "blue"}, "geometry": geometry}, party=party, author=resident
    )
    wins, losses = outcomes(
        race(lambda: review.accept_revision(red, agents[0]), lambda: review.accept_revision(blue, agents[1]))
    )
    assert len(wins) == 1 and len(losses) == 1 and isinstance(losses[0], Conflict)
    node.refresh_from_db()
    assert node.version == 2
    statuses = sorted(Revision.objects.filter(pk__in=[red.pk, blue.pk]).values_list("status", flat=True))
    assert statuses == ["accepted", "pending"]
    winner = Revision.objects.get(pk__in=[red.pk, blue.pk], status="accepted")
    assert node.tags == winner.after["tags"]


def test_bulk_accept_racing_single_decisions():
    party = PartyFactory()
    bulk_agent, single_agent = AgentFactory(town=party.town), AgentFactory(town=party.town)
    resident = ResidentFactory(party=party)
    revs = [RevisionFactory(party=party, author=resident) for _ in range(30)]
    singles = revs[::3]

    def singles_run() -> int:
        done = 0
        for rev in singles:
            try:
                review.reject_revision(rev, single_agent, "Too close to the road")
                done += 1
            except Conflict:
                pass
        return done

    bulk, rejected = race(lambda: review.bulk_accept(party.town, bulk_agent, party=party), singles_run)
    assert not isinstance(bulk, Exception) and not isinstance(rejected, Exception)
    assert len(bulk.decided) + rejected == len(revs)
    # Every revision decided exactly once, and only accepted ones were published.
    assert ReviewDecision.objects.filter(revision__in=revs).count() == len(revs)
    accepted = Revision.objects.filter(pk__in=[r.pk for r in revs], status="accepted")
    assert (
        Node.objects.filter(town=party.town, osm_id__in=[r.element_id for r in revs]).count()
        == accepted.count()
    )

"""Review services: accept, reject, request changes, fix then accept, revert and bulk decisions."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.utils import InternalError, ProgrammingError

from mapping.models import Node, ReviewDecision, Revision, Way
from mapping.store import Conflict
from review import services as review
from tests.factories import (
    AgentFactory,
    NodeFactory,
    PartyFactory,
    ResidentFactory,
    RevisionFactory,
    publish,
)

Status = Revision.Status
D = ReviewDecision.Decision


def point(lon: float = 9.5209, lat: float = 47.1410, **tags) -> dict:
    return {"tags": tags or {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def published_way(town, tags=None) -> Way:
    """A footway of three new nodes, published through the store."""
    return publish(
        town,
        "way",
        {
            "tags": tags or {"highway": "footway"},
            "nodes": [[None, 9.520, 47.140], [None, 9.521, 47.141], [None, 9.522, 47.140]],
        },
    )


def test_accept_creation_publishes_and_logs(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    assert not Node.objects.filter(town=party.town, osm_id=rev.element_id).exists()
    decision = review.accept_revision(rev, agent)
    node = Node.objects.get(town=party.town, osm_id=rev.element_id)
    assert node.tags == {"amenity": "bench"} and node.version == 1
    rev.refresh_from_db()
    assert (rev.status, rev.reviewer, rev.reviewed_at is not None) == (Status.ACCEPTED, agent, True)
    assert (decision.decision, decision.reviewer, decision.version_after) == (D.ACCEPTED, agent, 1)


def test_pending_change_leaves_published_version_live(party, agent, resident):
    node = NodeFactory(town=party.town, tags={"amenity": "bench"})
    rev = RevisionFactory.modify(node, point(amenity="bench", backrest="yes"), party=party, author=resident)
    node.refresh_from_db()
    assert (node.version, node.tags) == (1, {"amenity": "bench"})
    review.accept_revision(rev, agent)
    node.refresh_from_db()
    assert (node.version, node.tags) == (2, {"amenity": "bench", "backrest": "yes"})


def test_nobody_reviews_their_own_edits(party, agent):
    rev = RevisionFactory(party=party, author=agent)
    with pytest.raises(review.NotAllowed):
        review.accept_revision(rev, agent)
    with pytest.raises(review.NotAllowed):
        review.reject_revision(rev, agent, "no")
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING


def test_residents_and_other_towns_agents_cannot_decide(party, resident):
    rev = RevisionFactory(party=party, author=resident)
    other_resident = ResidentFactory(party=party)
    stranger = AgentFactory()  # an agent of another town
    for user in (other_resident, stranger):
        with pytest.raises(review.NotAllowed):
            review.accept_revision(rev, user)
        with pytest.raises(review.NotAllowed):
            review.bulk_accept(party.town, user, party=party)
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING
    assert list(review.revisions_for_reviewer(stranger)) == []
    assert list(review.revisions_for_reviewer(other_resident)) == []


def test_reject_requires_a_reason_and_stores_it(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    with pytest.raises(review.ReviewError):
        review.reject_revision(rev, agent, "   ")
    review.reject_revision(rev, agent, "Already mapped next door")
    rev.refresh_from_db()
    assert (rev.status, rev.review_reason) == (Status.REJECTED, "Already mapped next door")
    assert not Node.objects.filter(town=party.town, osm_id=rev.element_id).exists()


def test_reject_with_a_canned_reason(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    decision = review.reject_revision(rev, agent, "", reason_code="duplicate")
    assert (decision.reason_code, decision.reason) == ("duplicate", "")
    assert Revision.objects.get(pk=rev.pk).review_reason == "This feature is already on the map."


def test_second_decision_is_a_conflict(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    review.accept_revision(rev, agent)
    with pytest.raises(Conflict):
        review.accept_revision(rev, AgentFactory(town=party.town))
    with pytest.raises(review.AlreadyReviewed):
        review.reject_revision(rev, agent, "late")
    assert ReviewDecision.objects.filter(revision=rev).count() == 1


def test_accept_of_an_outdated_change_is_a_conflict(party, agent, resident):
    node = NodeFactory(town=party.town)
    first = RevisionFactory.modify(node, point(amenity="bench", colour="red"), party=party, author=resident)
    second = RevisionFactory.modify(node, point(amenity="bench", colour="blue"), party=party, author=resident)
    review.accept_revision(first, agent)
    with pytest.raises(Conflict):
        review.accept_revision(second, agent)
    assert Revision.objects.get(pk=second.pk).status == Status.PENDING
    node.refresh_from_db()
    assert node.tags["colour"] == "red"


def test_request_changes_then_the_author_amends(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident, after=point(shop="bakery"))
    with pytest.raises(review.ReviewError):
        review.request_changes(rev, agent, "")
    review.request_changes(rev, agent, "Add the bakery's name")
    assert Revision.objects.get(pk=rev.pk).status == Status.NEEDS_CHANGES
    with pytest.raises(review.NotAllowed):
        review.amend_revision(rev, ResidentFactory(party=party), point(shop="bakery", name="X"))
    new = review.amend_revision(rev, resident, point(shop="bakery", name="Chez Anna"))
    assert new.status == Status.PENDING and new.element_id == rev.element_id
    assert Revision.objects.get(pk=rev.pk).status == Status.WITHDRAWN
    log = ReviewDecision.objects.get(revision=rev, decision=D.SUPERSEDED)
    assert log.successor == new
    review.accept_revision(new, agent)
    assert Node.objects.get(town=party.town, osm_id=rev.element_id).tags["name"] == "Chez Anna"


def test_fix_then_accept_credits_both(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident, after=point(shop="bakey"))
    fixed = point(9.5210, 47.1411, shop="bakery", name="Chez Anna")
    decision = review.fix_and_accept(rev, agent, fixed)
    node = Node.objects.get(town=party.town, osm_id=rev.element_id)
    assert node.tags == {"shop": "bakery", "name": "Chez Anna"}
    assert round(node.geom.x, 4) == 9.5210
    rev.refresh_from_db()
    assert rev.after["tags"] == {"shop": "bakey"}  # the proposal is kept as it was
    assert (rev.author, rev.reviewer) == (resident, agent)
    assert decision.decision == D.FIXED and decision.amended_after == fixed
    assert review.applied_payload(rev) == fixed


def test_fix_then_accept_refuses_an_invalid_payload(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    with pytest.raises(review.ReviewError):
        review.fix_and_accept(rev, agent, point(lon=500, amenity="bench"))
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING


def test_revert_a_modification_restores_the_tags(party, agent, resident):
    node = NodeFactory(town=party.town, tags={"amenity": "bench"})
    rev = RevisionFactory.modify(node, point(amenity="bench", colour="red"), party=party, author=resident)
    review.accept_revision(rev, agent)
    revert = review.revert_revision(rev, agent)
    node.refresh_from_db()
    assert (node.tags, node.version) == ({"amenity": "bench"}, 3)
    assert revert.reverts == rev and revert.status == Status.ACCEPTED and revert.author == agent
    assert Revision.objects.get(pk=rev.pk).status == Status.ACCEPTED  # history is not rewritten
    assert ReviewDecision.objects.filter(revision=rev, decision=D.REVERTED, successor=revert).exists()
    with pytest.raises(Conflict):
        review.revert_revision(rev, agent)


def test_revert_a_creation_deletes_and_a_deletion_restores(party, agent, resident):
    created = RevisionFactory(party=party, author=resident)
    review.accept_revision(created, agent)
    review.revert_revision(created, agent)
    assert not Node.objects.get(town=party.town, osm_id=created.element_id).visible

    node = NodeFactory(town=party.town, tags={"amenity": "bench", "name": "Old"})
    deleted = RevisionFactory.delete(node, party=party, author=resident)
    review.accept_revision(deleted, agent)
    restore = review.revert_revision(deleted, agent)
    back = Node.objects.get(town=party.town, osm_id=restore.element_id)
    assert back.visible and back.tags == {"amenity": "bench", "name": "Old"}


def test_revert_refused_when_the_element_changed_since(party, agent, resident):
    node = NodeFactory(town=party.town)
    first = RevisionFactory.modify(node, point(amenity="bench", colour="red"), party=party, author=resident)
    review.accept_revision(first, agent)
    node.refresh_from_db()
    later = RevisionFactory.modify(node, point(amenity="bench", colour="blue"), party=party, author=resident)
    review.accept_revision(later, agent)
    with pytest.raises(Conflict):
        review.revert_revision(first, agent)


def test_revert_a_reshaped_way_restores_its_nodes(party, agent, resident):
    way = published_way(party.town)
    nodes = [[ref, 9.520 + i * 0.001, 47.140] for i, ref in enumerate(way.nodes)]
    after = {"tags": {"highway": "footway"}, "nodes": nodes[:2], "closed": False}
    rev = RevisionFactory.modify(way, after, party=party, author=resident)
    review.accept_revision(rev, agent)
    way.refresh_from_db()
    assert len(way.nodes) == 2
    review.revert_revision(rev, agent)
    way.refresh_from_db()
    assert len(way.nodes) == 3 and way.geom.num_points == 3


def test_bulk_accept_mixed_changes_reports_conflicts_per_revision(party, agent, resident):
    town = party.town
    other = ResidentFactory(party=party)
    created = [RevisionFactory(party=party, author=resident, after=point(9.52 + i / 1e4)) for i in range(5)]
    node = NodeFactory(town=town)
    moved = RevisionFactory.modify(node, point(9.5291, 47.1401, amenity="bench"), party=party, author=other)
    # Moved elsewhere from the same base: both moved it, so it is a real conflict (a retag would merge).
    twice = RevisionFactory.modify(
        node, point(9.5285, 47.1402, amenity="bench", colour="red"), party=party, author=other
    )
    way = published_way(town)
    retag = RevisionFactory.modify(
        way,
        {**_way_after(way), "tags": {"highway": "footway", "surface": "gravel"}},
        party=party,
        author=resident,
    )
    mine = RevisionFactory(party=party, author=agent)
    result = review.bulk_accept(town, agent, party=party)
    assert sorted(result.decided) == sorted([r.pk for r in created] + [moved.pk, retag.pk])
    assert list(result.conflicts) == [twice.pk] and "shape" in result.conflicts[twice.pk]
    assert result.merged == []
    assert list(result.skipped) == [mine.pk]
    node.refresh_from_db()
    assert (node.version, round(node.geom.x, 4)) == (2, 9.5291)
    way.refresh_from_db()
    assert (way.version, way.tags["surface"]) == (2, "gravel")
    assert Node.objects.filter(town=town, osm_id__in=[r.element_id for r in created]).count() == 5
    assert ReviewDecision.objects.filter(decision=D.ACCEPTED, reviewer=agent).count() == 7
    assert Revision.objects.get(pk=twice.pk).status == Status.PENDING
    # Derived geometry follows tags: the retagged way is still a line with its three nodes.
    assert way.geom.geom_type == "LineString"


def _way_after(way: Way) -> dict:
    from mapping.store import element_state

    state = element_state(way)
    return {"tags": state["tags"], "nodes": state["nodes"], "closed": state["closed"]}


def test_bulk_accept_falls_back_for_reshapes_and_deletions(party, agent, resident):
    town = party.town
    way = published_way(town)
    after = _way_after(way)
    after["nodes"] = [*after["nodes"], [None, 9.523, 47.141]]
    reshape = RevisionFactory.modify(way, after, party=party, author=resident)
    bench = NodeFactory(town=town)
    deletion = RevisionFactory.delete(bench, party=party, author=resident)
    used = Node.objects.get(town=town, osm_id=way.nodes[0])
    refused = RevisionFactory.delete(used, party=party, author=resident)
    result = review.bulk_accept(town, agent, ids=[reshape.pk, deletion.pk, refused.pk])
    assert sorted(result.decided) == sorted([reshape.pk, deletion.pk])
    assert list(result.conflicts) == [refused.pk]
    way.refresh_from_db()
    assert len(way.nodes) == 4 and way.version == 2


def test_bulk_accept_one_contributor(party, agent, resident):
    other = ResidentFactory(party=party)
    mine = [RevisionFactory(party=party, author=resident) for _ in range(3)]
    theirs = RevisionFactory(party=party, author=other)
    result = review.bulk_accept(party.town, agent, author=resident.pk)
    assert sorted(result.decided) == sorted(r.pk for r in mine)
    assert Revision.objects.get(pk=theirs.pk).status == Status.PENDING


def test_bulk_reject_with_reason(party, agent, resident):
    revs = [RevisionFactory(party=party, author=resident) for _ in range(3)]
    other_party = RevisionFactory(party=PartyFactory(town=party.town))
    with pytest.raises(review.ReviewError):
        review.bulk_reject(party.town, agent, "", party=party)
    result = review.bulk_reject(party.town, agent, "Test edits", party=party)
    assert sorted(result.decided) == sorted(r.pk for r in revs)
    assert set(Revision.objects.filter(pk__in=result.decided).values_list("status", "review_reason")) == {
        (Status.REJECTED, "Test edits")
    }
    assert Revision.objects.get(pk=other_party.pk).status == Status.PENDING
    assert ReviewDecision.objects.filter(decision=D.REJECTED).count() == 3


def test_bulk_ignores_other_towns_revisions(party, agent):
    foreign = RevisionFactory()
    result = review.bulk_accept(party.town, agent, ids=[foreign.pk])
    assert result.decided == [] and Revision.objects.get(pk=foreign.pk).status == Status.PENDING


# --- Append-only, at the database level ---------------------------------------------------------


def _refused(sql: str, params: list) -> None:
    errors = (InternalError, ProgrammingError, IntegrityError)
    with pytest.raises(errors) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    assert "append-only" in str(exc.value)


def test_revision_payload_update_and_delete_are_refused_by_the_database(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    _refused("UPDATE mapping_revision SET after = '{}'::jsonb WHERE id = %s", [rev.pk])
    _refused("UPDATE mapping_revision SET author_id = %s WHERE id = %s", [agent.pk, rev.pk])
    _refused("DELETE FROM mapping_revision WHERE id = %s", [rev.pk])
    # The review columns may move (that is how decisions are recorded).
    Revision.objects.filter(pk=rev.pk).update(review_reason="ok")


def test_decision_log_update_and_delete_are_refused_by_the_database(party, agent, resident):
    decision = review.reject_revision(RevisionFactory(party=party, author=resident), agent, "no")
    _refused("UPDATE mapping_reviewdecision SET reason = 'yes' WHERE id = %s", [decision.pk])
    _refused("UPDATE mapping_reviewdecision SET decision = 'accepted' WHERE id = %s", [decision.pk])
    _refused("DELETE FROM mapping_reviewdecision WHERE id = %s", [decision.pk])
    assert ReviewDecision.objects.get(pk=decision.pk).reason == "no"


def test_accept_and_bulk_accept_announce_the_published_change(
    party, agent, resident, django_capture_on_commit_callbacks
):
    from mapping.signals import published_change

    seen = []

    def listener(sender, town, bbox, **kwargs):
        seen.append((town.pk, bbox))

    published_change.connect(listener, dispatch_uid="test-review-listener")
    try:
        revs = [RevisionFactory(party=party, author=resident, after=point(9.52 + i / 1e3)) for i in range(3)]
        with django_capture_on_commit_callbacks(execute=True):
            review.bulk_accept(party.town, agent, ids=[r.pk for r in revs])
        assert len(seen) == 1
        town_id, (west, south, east, north) = seen[0]
        assert town_id == party.town.pk and (round(west, 3), round(east, 3)) == (9.52, 9.522)
        pending = RevisionFactory(party=party, author=resident)
        with django_capture_on_commit_callbacks(execute=True):
            review.accept_revision(pending, agent)
        assert len(seen) == 2
    finally:
        published_change.disconnect(dispatch_uid="test-review-listener")


def test_a_revision_waiting_for_changes_can_still_be_decided(party, agent, resident):
    rev = RevisionFactory(party=party, author=resident)
    review.request_changes(rev, agent, "Which bench?")
    with pytest.raises(review.AlreadyReviewed):
        review.request_changes(rev, agent, "Again")
    review.reject_revision(rev, agent, "No answer after the party")
    assert Revision.objects.get(pk=rev.pk).status == Status.REJECTED
    with pytest.raises(review.AlreadyReviewed):
        review.amend_revision(rev, resident, point(amenity="bench"))


def test_bulk_accept_reports_a_malformed_payload_alone(party, agent, resident):
    good = RevisionFactory(party=party, author=resident)
    broken = RevisionFactory(
        party=party, author=resident, after={"tags": {"amenity": "bench"}}, geom_after=None
    )
    result = review.bulk_accept(party.town, agent, party=party)
    assert result.decided == [good.pk] and list(result.conflicts) == [broken.pk]


def test_bulk_accept_creates_ways_set_based(party, agent, resident):
    town = party.town
    corner = NodeFactory(town=town, tags={}, geom=Point(9.5200, 47.1400, srid=4326))
    square = [
        [corner.osm_id, 9.5200, 47.1400],
        [None, 9.5201, 47.1400],
        [None, 9.5201, 47.1401],
        [None, 9.5200, 47.1401],
    ]
    building = RevisionFactory(
        party=party,
        author=resident,
        element_type="way",
        after={"tags": {"building": "yes"}, "nodes": square, "closed": True},
    )
    path = RevisionFactory(
        party=party,
        author=resident,
        element_type="way",
        after={"tags": {"highway": "footway"}, "nodes": [[None, 9.521, 47.141], [None, 9.522, 47.142]]},
    )
    moved = [[corner.osm_id, 9.5203, 47.1403], [None, 9.5205, 47.1405]]  # moves another feature's node
    mover = RevisionFactory(
        party=party, author=resident, element_type="way", after={"tags": {"highway": "path"}, "nodes": moved}
    )
    result = review.bulk_accept(town, agent, party=party)
    assert sorted(result.decided) == sorted([building.pk, path.pk])
    assert list(result.conflicts) == [mover.pk] and "another feature" in result.conflicts[mover.pk]
    house = Way.objects.get(town=town, osm_id=building.element_id)
    assert house.nodes[0] == corner.osm_id == house.nodes[-1] and len(house.nodes) == 5
    assert (house.geom.geom_type, house.geom_status, house.version) == ("Polygon", "ok", 1)
    assert Node.objects.filter(town=town, osm_id__in=house.nodes[1:4], visible=True, version=1).count() == 3
    assert Way.objects.get(town=town, osm_id=path.element_id).geom.geom_type == "LineString"
    corner.refresh_from_db()
    assert (round(corner.geom.x, 4), corner.version) == (9.5200, 1)  # the gate kept it in place
    assert ReviewDecision.objects.get(revision=building).version_after == 1

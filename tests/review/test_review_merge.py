"""Review never dead-ends: an edit whose feature got a newer published version is re-applied onto it.

Two residents edit the same café while both edits wait; the agent accepts the first, then the second:
a clean per-key merge is accepted, a real conflict shows the three-way choice (service, API, page), and
the resident sees the outcome.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from mapping.history import outcome_label
from mapping.models import Node, ReviewDecision, Revision
from review import services as review
from review.selectors import contributions_for
from tests.factories import AgentFactory, NodeFactory, ResidentFactory, RevisionFactory

Status = Revision.Status
D = ReviewDecision.Decision


@pytest.fixture
def anna(party):
    return ResidentFactory(party=party, nickname="Anna")


@pytest.fixture
def ben(party):
    return ResidentFactory(party=party, nickname="Ben")


@pytest.fixture
def cafe(party):
    return NodeFactory(town=party.town, tags={"amenity": "cafe", "name": "Café Risch"})


def node(lon: float = 9.5209, lat: float = 47.1410, **tags) -> dict:
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def test_second_edit_of_the_same_cafe_merges_cleanly_and_says_so(party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe,
        node(amenity="cafe", name="Café Risch", opening_hours="Mo-Sa 08:00-18:00"),
        party=party,
        author=anna,
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", outdoor_seating="yes"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    decision = review.accept_revision(second, agent)
    cafe.refresh_from_db()
    assert cafe.version == 3
    assert cafe.tags == {
        "amenity": "cafe",
        "name": "Café Risch",
        "opening_hours": "Mo-Sa 08:00-18:00",
        "outdoor_seating": "yes",
    }
    assert decision.decision == D.ACCEPTED and decision.amended_after["tags"] == cafe.tags
    assert review.applied_payload(second)["tags"] == cafe.tags
    mine = {r.pk: r for r in contributions_for(ben)}
    assert mine[second.pk].status == Status.ACCEPTED
    assert outcome_label(mine[second.pk]) == "Accepted, merged with another edit published meanwhile"
    assert outcome_label({r.pk: r for r in contributions_for(anna)}[first.pk]) == "Accepted and published"


def test_a_key_changed_on_both_sides_asks_the_agent_then_publishes_the_choice(party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Risch", wheelchair="yes"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    with pytest.raises(review.MergeConflict) as exc:
        review.accept_revision(second, agent)
    assert exc.value.as_dict()["tags"] == {
        "name": {"base": "Café Risch", "theirs": "Café Risch Vaduz", "mine": "Risch"}
    }
    assert exc.value.merge.keys == ["name"] and not exc.value.merge.geometry
    assert Revision.objects.get(pk=second.pk).status == Status.PENDING
    # An incomplete choice is still a conflict; nothing changed.
    with pytest.raises(review.MergeConflict):
        review.accept_revision(second, agent, {"tags": {}})
    review.accept_revision(second, agent, {"tags": {"name": "mine"}})
    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Risch", "wheelchair": "yes"}
    assert cafe.version == 3


@pytest.mark.parametrize(("side", "name"), [("base", "Café Risch"), ("theirs", "Café Risch Vaduz")])
def test_each_side_of_the_three_way_choice(party, agent, anna, ben, cafe, side, name):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    second = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    review.accept_revision(first, agent)
    review.accept_revision(second, agent, {"tags": {"name": side}})
    cafe.refresh_from_db()
    assert cafe.tags["name"] == name


def test_a_move_and_a_retag_combine_but_two_moves_need_a_choice(party, agent, anna, ben, cafe):
    moved = RevisionFactory.modify(
        cafe, node(9.5215, 47.1412, amenity="cafe", name="Café Risch"), party=party, author=anna
    )
    retag = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=ben
    )
    other_move = RevisionFactory.modify(
        cafe, node(9.5201, 47.1405, amenity="cafe", name="Café Risch"), party=party, author=ben
    )
    review.accept_revision(moved, agent)
    review.accept_revision(retag, agent)
    cafe.refresh_from_db()
    assert (round(cafe.geom.x, 4), cafe.tags["wifi"]) == (9.5215, "yes")
    with pytest.raises(review.MergeConflict) as exc:
        review.accept_revision(other_move, agent)
    assert exc.value.merge.geometry and exc.value.merge.keys == []
    review.accept_revision(other_move, agent, {"geometry": "mine"})
    cafe.refresh_from_db()
    assert (round(cafe.geom.x, 4), cafe.tags["wifi"]) == (9.5201, "yes")


def test_fix_then_accept_of_an_outdated_edit_is_merged_too(party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", phone="+423 232 1234"), party=party, author=anna
    )
    second = RevisionFactory.modify(cafe, node(amenity="cafe", name="Cafe Risch"), party=party, author=ben)
    review.accept_revision(first, agent)
    review.fix_and_accept(second, agent, node(amenity="cafe", name="Café Risch", cuisine="coffee_shop"))
    cafe.refresh_from_db()
    assert cafe.tags == {
        "amenity": "cafe",
        "name": "Café Risch",
        "phone": "+423 232 1234",
        "cuisine": "coffee_shop",
    }


def test_an_edit_of_a_feature_deleted_since_can_only_be_rejected(party, agent, anna, ben, cafe):
    gone = RevisionFactory.delete(cafe, party=party, author=anna)
    late = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    review.accept_revision(gone, agent)
    with pytest.raises(review.FeatureGone):
        review.accept_revision(late, agent, {"tags": {"name": "mine"}})
    review.reject_revision(late, agent, "", "duplicate")
    assert Revision.objects.get(pk=late.pk).status == Status.REJECTED


def test_deleting_a_feature_changed_since_needs_delete_anyway(party, agent, anna, ben, cafe):
    retag = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=anna
    )
    deletion = RevisionFactory.delete(cafe, party=party, author=ben)
    review.accept_revision(retag, agent)
    with pytest.raises(review.MergeConflict) as exc:
        review.accept_revision(deletion, agent)
    assert exc.value.deletion
    review.accept_revision(deletion, agent, {"geometry": "mine"})
    cafe.refresh_from_db()
    assert not cafe.visible


def test_bulk_accept_applies_clean_merges_and_lists_real_conflicts(party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    clean = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=ben
    )
    clash = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    result = review.bulk_accept(party.town, agent, party=party)
    assert result.decided == sorted([first.pk, clean.pk])
    assert result.merged == [clean.pk]
    assert list(result.conflicts) == [clash.pk] and "name" in result.conflicts[clash.pk]
    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Café Risch Vaduz", "wifi": "yes"}
    assert Revision.objects.get(pk=clash.pk).status == Status.PENDING
    # The real conflict is then settled on its own.
    review.accept_revision(clash, agent, {"tags": {"name": "theirs"}})
    assert Revision.objects.get(pk=clash.pk).status == Status.ACCEPTED


# --- API ---------------------------------------------------------------------------------------


def test_api_gives_the_three_way_choice_and_takes_the_answer(client, party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    second = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    client.force_login(agent)
    assert client.get(reverse("review:review-api-revision", args=[second.pk])).json()["outdated"] is None
    assert client.post(reverse("review:review-api-decide", args=[first.pk, "accept"])).status_code == 200
    detail = client.get(reverse("review:review-api-revision", args=[second.pk])).json()["outdated"]
    assert detail["current_version"] == 2 and detail["keys"] == ["name"] and not detail["clean"]
    url = reverse("review:review-api-decide", args=[second.pk, "accept"])
    conflict = client.post(url, {}, content_type="application/json")
    assert conflict.status_code == 409
    assert conflict.json()["conflict"]["tags"]["name"]["theirs"] == "Café Risch Vaduz"
    bad = client.post(url, {"choices": {"tags": {"name": "everything"}}}, content_type="application/json")
    assert bad.status_code == 400 and "choices" in bad.json()
    ok = client.post(url, {"choices": {"tags": {"name": "mine"}}}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert Node.objects.get(pk=cafe.pk).tags["name"] == "Risch"
    client.force_login(ben)
    mine = client.get(reverse("review:review-api-contributions")).json()
    assert mine[0]["outcome"] == "Accepted, merged with another edit published meanwhile"


def test_api_bulk_links_each_conflict_to_its_page(client, party, agent, anna, ben, cafe):
    RevisionFactory.modify(cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna)
    clash = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    client.force_login(agent)
    body = client.post(
        reverse("review:review-api-bulk"),
        {"action": "accept", "party": party.pk},
        content_type="application/json",
    ).json()
    assert list(body["conflicts"]) == [str(clash.pk)]
    assert body["conflict_urls"] == {str(clash.pk): reverse("review:review-revision", args=[clash.pk])}


# --- Pages -------------------------------------------------------------------------------------


def test_page_shows_the_choice_and_accepts_the_pick(client, party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Risch", wifi="yes"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    client.force_login(agent)
    page = client.get(reverse("review:review-revision", args=[second.pk])).content.decode()
    assert "Changed since this edit" in page and 'name="choice:name" value="theirs"' in page
    assert "Accept with these choices" in page
    decide = reverse("review:review-decide", args=[second.pk])
    answer = client.post(decide, {"action": "accept"})  # no choice: back to the page with the reason
    assert answer.status_code == 302 and answer["Location"].startswith(
        reverse("review:review-revision", args=[second.pk])
    )
    assert Revision.objects.get(pk=second.pk).status == Status.PENDING
    client.post(decide, {"action": "accept", "choice:name": "theirs"})
    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Café Risch Vaduz", "wifi": "yes"}
    client.force_login(ben)
    contributions = client.get(reverse("review:my-contributions")).content.decode()
    assert "Accepted, merged with another edit published meanwhile" in contributions


def test_page_bulk_accept_links_the_conflicts(client, party, agent, anna, ben, cafe):
    RevisionFactory.modify(cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna)
    clash = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    client.force_login(agent)
    queue = client.post(
        reverse("review:review-bulk"), {"op": "accept:party", "queue": f"party={party.pk}"}, follow=True
    ).content.decode()
    assert f'<a href="{reverse("review:review-revision", args=[clash.pk])}' in queue
    assert "1 decided (0 merged with a newer version), 1 left pending" in queue


def test_reverting_a_merged_edit_keeps_the_other_edit(party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe,
        node(amenity="cafe", name="Café Risch", opening_hours="Mo-Sa 08:00-18:00"),
        party=party,
        author=anna,
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", outdoor_seating="yes"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    review.accept_revision(second, agent)
    review.revert_revision(second, AgentFactory(town=party.town), "no terrace")
    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Café Risch", "opening_hours": "Mo-Sa 08:00-18:00"}


def test_accepting_an_up_to_date_edit_costs_no_extra_query(
    client, party, agent, anna, cafe, django_assert_max_num_queries
):
    """The merge starts from apply_change's Conflict: the usual accept does not look the element up twice."""
    rev = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=anna
    )
    client.force_login(agent)
    # session user, revision, savepoint, lock, the gate's party area, element lock + update,
    # dependents, state, decision, reload
    with django_assert_max_num_queries(16):
        response = client.post(reverse("review:review-api-decide", args=[rev.pk, "accept"]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "choices",
    [
        [],
        "mine",
        3,
        {"tags": []},
        {"tags": {"name": {"side": "mine"}}},
        {"geometry": ["mine"]},
        {"tags": None},
    ],
)
def test_malformed_choices_are_a_400_and_change_nothing(client, party, agent, anna, ben, cafe, choices):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch Vaduz"), party=party, author=anna
    )
    second = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    review.accept_revision(first, agent)
    client.force_login(agent)
    url = reverse("review:review-api-decide", args=[second.pk, "accept"])
    response = client.post(url, {"choices": choices}, content_type="application/json")
    assert response.status_code == 400 and response.json()["choices"]
    assert Revision.objects.get(pk=second.pk).status == Status.PENDING


def test_the_party_map_panel_gives_the_outcome_too(client, party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=anna
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", phone="+423"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    review.accept_revision(second, agent)
    client.force_login(ben)
    url = reverse("mapping-api:party-contributions", kwargs={"party_id": party.pk})
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert [r["outcome"] for r in body] == [
        "Acceptée, combinée avec une autre modification publiée entre-temps"
    ]


def test_page_says_a_clean_merge_combines_both_and_the_log_says_merged(client, party, agent, anna, ben, cafe):
    first = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", wifi="yes"), party=party, author=anna
    )
    second = RevisionFactory.modify(
        cafe, node(amenity="cafe", name="Café Risch", phone="+423"), party=party, author=ben
    )
    review.accept_revision(first, agent)
    client.force_login(agent)
    url = reverse("review:review-revision", args=[second.pk])
    page = client.get(url).content.decode()
    assert "accepting combines both" in page and "Accept and combine" in page and "choice:" not in page
    client.post(reverse("review:review-decide", args=[second.pk]), {"action": "accept"})
    assert "(merged with the newer version)" in client.get(url).content.decode()
    cafe.refresh_from_db()
    assert cafe.tags == {"amenity": "cafe", "name": "Café Risch", "wifi": "yes", "phone": "+423"}


def test_page_offers_only_rejection_when_the_feature_was_deleted_since(client, party, agent, anna, ben, cafe):
    review.accept_revision(RevisionFactory.delete(cafe, party=party, author=anna), agent)
    late = RevisionFactory.modify(cafe, node(amenity="cafe", name="Risch"), party=party, author=ben)
    client.force_login(agent)
    page = client.get(reverse("review:review-revision", args=[late.pk])).content.decode()
    assert "This feature was deleted after this edit was made" in page
    assert 'id="accept-form"' not in page and 'value="reject"' in page

"""Review pages and API: the permission matrix, filters and counts, decisions, 409s and contributions."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from mapping.models import Node, ReviewDecision, Revision
from review import services as review
from tests.factories import AgentFactory, NodeFactory, PartyFactory, ResidentFactory, RevisionFactory

pytestmark = pytest.mark.django_db
Status = Revision.Status


@pytest.fixture
def rev(party, resident):
    return RevisionFactory(party=party, author=resident)


def decide(client, rev, **data):
    return client.post(reverse("review:review-decide", args=[rev.pk]), data)


def test_queue_permission_matrix(client, party, agent, resident, rev):
    url = reverse("review:review-queue")
    assert client.get(url).status_code == 302  # anonymous: to sign in
    client.force_login(resident)
    assert client.get(url).status_code == 403
    assert client.get(reverse("review:review-revision", args=[rev.pk])).status_code == 403
    assert decide(client, rev, action="accept").status_code == 403
    client.force_login(AgentFactory())  # another town's agent
    resp = client.get(url)
    assert resp.status_code == 200 and f"#{rev.pk}" not in resp.content.decode()
    assert client.get(reverse("review:review-revision", args=[rev.pk])).status_code == 404
    assert decide(client, rev, action="accept").status_code == 404
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING
    client.force_login(agent)
    assert f"#{rev.pk}" in client.get(url).content.decode()


def test_queue_filters_and_counts(client, party, agent, resident, django_assert_max_num_queries):
    other = ResidentFactory(party=party)
    RevisionFactory(party=party, author=resident, preset="amenity/bench")
    flagged = RevisionFactory(
        party=party,
        author=other,
        flags=[{"code": "likely_duplicate", "severity": "warning", "message_en": "x"}],
    )
    RevisionFactory(party=PartyFactory(town=party.town), author=other)
    client.force_login(agent)
    url = reverse("review:review-queue")
    with django_assert_max_num_queries(14):
        resp = client.get(url, {"party": party.pk})
    counts = resp.context["counts"]
    assert resp.context["page"].paginator.count == 2
    assert {a["name"]: a["n"] for a in counts["author"]} == {resident.nickname: 1, other.nickname: 1}
    assert counts["flag"] == [{"code": "likely_duplicate", "n": 1}]
    assert next(s for s in counts["status"] if s["value"] == "pending")["n"] == 2
    assert len(counts["party"]) == 2
    assert [r.pk for r in client.get(url, {"flag": "likely_duplicate"}).context["page"]] == [flagged.pk]
    assert client.get(url, {"preset": "amenity/bench"}).context["page"].paginator.count == 1
    assert client.get(url, {"author": other.pk}).context["page"].paginator.count == 2
    assert client.get(url, {"status": "accepted"}).context["page"].paginator.count == 0
    assert "Nothing to review" in client.get(url, {"status": "accepted"}).content.decode()


def test_revision_page_shows_diff_flags_and_shortcuts(client, party, agent, resident):
    node = NodeFactory(town=party.town, tags={"amenity": "bench", "colour": "red"})
    rev = RevisionFactory.modify(
        node,
        {
            "tags": {"amenity": "bench", "backrest": "yes"},
            "geometry": {"type": "Point", "coordinates": [9.521, 47.141]},
        },
        party=party,
        author=resident,
        flags=[
            {
                "code": "long_value",
                "severity": "info",
                "message_en": "Long",
                "message_fr": "Longue",
                "data": {},
            }
        ],
    )
    client.force_login(agent)
    resp = client.get(reverse("review:review-revision", args=[rev.pk]))
    assert resp.status_code == 200
    changes = {row["key"]: row["change"] for row in resp.context["diff"]}
    assert changes == {"amenity": "same", "backrest": "added", "colour": "removed"}
    assert resp.context["map_data"]["vertices"][0]["state"] == "moved"
    body = resp.content.decode()
    assert 'id="review-map-data"' in body and "Keyboard shortcuts" in body and 'aria-keyshortcuts="a"' in body
    with translation.override("fr"):
        resp = client.get(reverse("review:review-revision", args=[rev.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Longue" in resp.content.decode()


def test_next_and_previous_follow_the_filtered_queue(client, party, agent, resident):
    first, second, third = (RevisionFactory(party=party, author=resident) for _ in range(3))
    client.force_login(agent)
    resp = client.get(reverse("review:review-revision", args=[second.pk]), {"party": party.pk})
    assert f"/manage/review/{first.pk}/" in resp.context["prev_url"]
    assert f"/manage/review/{third.pk}/" in resp.context["next_url"]
    resp = decide(client, second, action="accept", queue=f"party={party.pk}")
    assert resp.status_code == 302 and f"/manage/review/{third.pk}/" in resp["Location"]


def test_accept_and_reject_through_the_page(client, party, agent, rev, resident):
    client.force_login(agent)
    assert decide(client, rev, action="accept").status_code == 302
    assert Node.objects.filter(town=party.town, osm_id=rev.element_id).exists()
    other = RevisionFactory(party=party, author=resident)
    resp = decide(client, other, action="reject", reason_code="", comment="")
    assert resp.status_code == 302 and Revision.objects.get(pk=other.pk).status == Status.PENDING
    decide(client, other, action="reject", reason_code="duplicate", comment="Next to the fountain")
    other.refresh_from_db()
    assert (other.status, other.review_reason) == (Status.REJECTED, "Next to the fountain")


def test_a_lost_race_shows_the_refreshed_queue_with_409(client, party, agent, rev):
    review.accept_revision(rev, AgentFactory(town=party.town))
    client.force_login(agent)
    resp = decide(client, rev, action="accept")
    assert resp.status_code == 409
    assert "already reviewed" in resp.content.decode() and "data-conflict" in resp.content.decode()
    assert resp.templates[0].name == "review/review_queue.html"


def test_own_edit_cannot_be_decided_on_the_page(client, party, agent):
    mine = RevisionFactory(party=party, author=agent)
    client.force_login(agent)
    assert client.get(reverse("review:review-revision", args=[mine.pk])).context["can_decide"] is False
    decide(client, mine, action="accept")
    assert Revision.objects.get(pk=mine.pk).status == Status.PENDING


def test_fix_then_accept_on_the_page(client, party, agent, resident):
    rev = RevisionFactory(
        party=party,
        author=resident,
        after={"tags": {"shop": "bakry"}, "geometry": {"type": "Point", "coordinates": [9.52, 47.14]}},
    )
    client.force_login(agent)
    decide(client, rev, action="fix", tags="shop=bakery\nname=Chez Anna\n")
    assert Node.objects.get(town=party.town, osm_id=rev.element_id).tags == {
        "shop": "bakery",
        "name": "Chez Anna",
    }
    assert ReviewDecision.objects.get(revision=rev).decision == ReviewDecision.Decision.FIXED


def test_fix_with_the_repaired_shape(client, party, agent, resident):
    from mapping.quality import run_checks

    bowtie = [[None, 9.520, 47.140], [None, 9.521, 47.141], [None, 9.521, 47.140], [None, 9.520, 47.141]]
    after = {"tags": {"building": "yes"}, "nodes": bowtie, "closed": True}
    rev = RevisionFactory.build(party=party, author=resident, element_type="way", after=after)
    rev.flags = run_checks(rev)
    rev.save()
    client.force_login(agent)
    page = client.get(reverse("review:review-revision", args=[rev.pk]))
    assert page.context["repaired"] and page.context["map_data"]["repaired"]["type"] == "MultiPolygon"
    decide(client, rev, action="fix", tags="building=yes", use_repaired="1")
    rev.refresh_from_db()
    assert rev.status == Status.ACCEPTED
    from mapping.models import Way

    way = Way.objects.get(town=party.town, osm_id=rev.element_id)
    assert way.geom.valid and way.geom_status == "ok"


def test_bulk_from_the_queue(client, party, agent, resident):
    revs = [RevisionFactory(party=party, author=resident) for _ in range(3)]
    client.force_login(agent)
    url = reverse("review:review-bulk")
    client.post(url, {"op": "accept:selection", "ids": [revs[0].pk, revs[1].pk]})
    assert [Revision.objects.get(pk=r.pk).status for r in revs] == [
        Status.ACCEPTED,
        Status.ACCEPTED,
        Status.PENDING,
    ]
    resp = client.post(
        url, {"op": "reject:party", "queue": f"party={party.pk}", "comment": "Test"}, follow=True
    )
    assert Revision.objects.get(pk=revs[2].pk).status == Status.REJECTED
    assert "1 decided" in resp.content.decode()


def test_revert_from_the_page(client, party, agent, rev):
    review.accept_revision(rev, agent)
    client.force_login(agent)
    decide(client, rev, action="revert", comment="Vandalism")
    assert not Node.objects.get(town=party.town, osm_id=rev.element_id).visible


def test_resident_sees_status_and_reason_in_their_language(client, party, agent, resident, rev):
    review.reject_revision(rev, agent, "", reason_code="duplicate")
    accepted = RevisionFactory(party=party, author=resident)
    review.accept_revision(accepted, agent)
    client.force_login(resident)
    resp = client.get(reverse("review:my-contributions"), HTTP_ACCEPT_LANGUAGE="en")
    body = resp.content.decode()
    assert "This feature is already on the map." in body and "Rejected" in body and "Accepted" in body
    api = client.get("/api/review/my-contributions/").json()
    assert {r["id"]: r["reason_label"] for r in api}[rev.pk] == "This feature is already on the map."
    other = client.get(reverse("review:my-contributions"))
    assert other.status_code == 200
    client.force_login(ResidentFactory(party=party))
    assert "already on the map" not in client.get(reverse("review:my-contributions")).content.decode()


# --- API --------------------------------------------------------------------------------------


def test_api_accept_then_409(client, party, agent, rev):
    client.force_login(agent)
    url = f"/api/review/revisions/{rev.pk}/accept/"
    resp = client.post(url, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["status"] == "accepted"
    second = client.post(url, content_type="application/json")
    assert second.status_code == 409 and "already reviewed" in second.json()["detail"]


def test_api_permission_matrix(client, party, resident, rev):
    url = f"/api/review/revisions/{rev.pk}/accept/"
    assert client.post(url, content_type="application/json").status_code == 403  # anonymous
    client.force_login(resident)
    assert client.post(url, content_type="application/json").status_code == 404
    assert client.get("/api/review/revisions/").status_code == 404
    client.force_login(AgentFactory())
    assert client.post(url, content_type="application/json").status_code == 404
    assert client.get(f"/api/review/revisions/{rev.pk}/").status_code == 404
    assert client.get("/api/review/revisions/").json()["count"] == 0
    resp = client.post(
        "/api/review/bulk/", {"action": "accept", "ids": [rev.pk]}, content_type="application/json"
    )
    assert resp.json()["decided"] == []
    assert Revision.objects.get(pk=rev.pk).status == Status.PENDING


def test_api_queue_detail_reject_fix_and_bulk(client, party, agent, resident, rev):
    client.force_login(agent)
    data = client.get("/api/review/revisions/", {"party": party.pk}).json()
    assert data["count"] == 1 and data["results"][0]["author_name"] == resident.nickname
    detail = client.get(f"/api/review/revisions/{rev.pk}/").json()
    assert detail["tag_diff"] == [{"key": "amenity", "old": None, "new": "bench", "change": "added"}]
    bad = client.post(f"/api/review/revisions/{rev.pk}/reject/", {}, content_type="application/json")
    assert bad.status_code == 400
    fix = RevisionFactory(party=party, author=resident)
    after = {
        "tags": {"amenity": "bench", "backrest": "no"},
        "geometry": {"type": "Point", "coordinates": [9.52, 47.14]},
    }
    resp = client.post(
        f"/api/review/revisions/{fix.pk}/fix/", {"after": after}, content_type="application/json"
    )
    assert resp.status_code == 200
    assert Node.objects.get(town=party.town, osm_id=fix.element_id).tags["backrest"] == "no"
    resp = client.post(
        "/api/review/bulk/",
        {"action": "reject", "author": resident.pk, "reason": "Tests"},
        content_type="application/json",
    )
    assert resp.json()["decided"] == [rev.pk]


def test_api_resident_amends_after_a_request_for_changes(client, party, agent, resident, rev):
    review.request_changes(rev, agent, "Which kind of bench?")
    after = {
        "tags": {"amenity": "bench", "backrest": "yes"},
        "geometry": {"type": "Point", "coordinates": [9.52, 47.14]},
    }
    client.force_login(ResidentFactory(party=party))
    url = f"/api/review/revisions/{rev.pk}/amend/"
    assert client.post(url, {"after": after}, content_type="application/json").status_code == 404
    client.force_login(resident)
    resp = client.post(url, {"after": after}, content_type="application/json")
    assert resp.status_code == 201 and resp.json()["status"] == "pending"
    assert client.post(url, {"after": after}, content_type="application/json").status_code == 409
    bad = RevisionFactory(party=party, author=resident)
    review.request_changes(bad, agent, "Where?")
    bad_after = {"tags": {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [500, 47.14]}}
    resp = client.post(
        f"/api/review/revisions/{bad.pk}/amend/", {"after": bad_after}, content_type="application/json"
    )
    assert resp.status_code == 400


def test_query_budgets(client, party, agent, resident, django_assert_max_num_queries):
    """The revision page and the API list stay within a fixed number of queries, however busy the queue."""
    revs = [RevisionFactory(party=party, author=ResidentFactory(party=party)) for _ in range(20)]
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("review:review-revision", args=[revs[5].pk])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/api/review/revisions/").json()["count"] == 20
    with django_assert_max_num_queries(14):
        assert client.get(reverse("review:review-queue")).status_code == 200

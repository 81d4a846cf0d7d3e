"""submit_edit and undo_last_edit: pending revisions, rules, merge, conflicts, idempotency, rate limit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from mapping import services
from mapping.models import Node, Revision
from mapping.services import (
    EditRejected,
    NotAllowed,
    RateLimited,
    SubmitResult,
    TagConflict,
    merge_tags,
    submit_edit,
    undo_last_edit,
)
from mapping.store import Conflict, apply_change
from tests.factories import ResidentFactory
from tests.mapping.editing_fixtures import (  # noqa: F401 (fixtures: pytest finds them by name in this module)
    bench_fixture,
    footway_fixture,
    other_party_fixture,
)

pytestmark = pytest.mark.django_db


def point(lon: float = 9.5209, lat: float = 47.1410, **tags: str) -> dict:
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def submit_bench(resident, party, **kwargs) -> SubmitResult:
    defaults = {
        "author": resident,
        "party": party,
        "element_type": "node",
        "element_id": None,
        "action": "create",
        "after": point(amenity="bench", name="Banc"),
        "base_version": None,
    }
    return submit_edit(**(defaults | kwargs))


def create_bench(resident, party, **kwargs):
    return submit_bench(resident, party, **kwargs).revision


def test_create_is_pending_with_a_local_id_and_the_store_unchanged(resident, party):
    nodes_before = Node.objects.count()
    revision = create_bench(resident, party, preset="amenity/bench")
    assert revision.status == Revision.Status.PENDING
    assert revision.element_id < 0 and revision.before is None
    assert revision.after["tags"] == {"amenity": "bench", "name": "Banc"}
    assert revision.geom_after.coords == (9.5209, 47.141) and revision.geom_before is None
    assert revision.town_id == party.town_id and revision.preset == "amenity/bench"
    assert Node.objects.count() == nodes_before


def test_modify_records_before_state_and_version(resident, party, bench):
    revision = submit_edit(
        author=resident, party=party, element_type="node", element_id=bench.osm_id, action="modify",
        after=point(amenity="bench", backrest="yes"), base_version=1,
    ).revision  # fmt: skip
    assert revision.before["tags"] == {"amenity": "bench"} and revision.before["version"] == 1
    assert revision.base_version == 1
    bench.refresh_from_db()
    assert bench.tags == {"amenity": "bench"} and bench.version == 1


def test_delete(resident, party, bench):
    revision = submit_edit(
        author=resident, party=party, element_type="node", element_id=bench.osm_id, action="delete",
        after=None, base_version=1,
    ).revision  # fmt: skip
    assert revision.after is None and revision.geom_after is None and revision.geom_before is not None


def test_reshape_way_keeps_node_ids(resident, party, footway):
    nodes = [[ref, 9.52 + i * 0.0005, 47.1400] for i, ref in enumerate(footway.nodes)]
    nodes.append([None, 9.5215, 47.1403])
    revision = submit_edit(
        author=resident, party=party, element_type="way", element_id=footway.osm_id, action="modify",
        after={"tags": [["highway", "footway"]], "nodes": nodes}, base_version=1,
    ).revision  # fmt: skip
    assert [n[0] for n in revision.after["nodes"]] == [*footway.nodes, None]
    assert revision.before["nodes"][0][0] == footway.nodes[0]
    assert revision.geom_after.num_points == 4


@pytest.mark.parametrize(
    ("after", "field"),
    [
        (point(name="a\nb"), "tags.name"),
        (point(lon=200), "geometry"),
        (point(lon=9.60), "geometry"),  # outside the party area
        ({"tags": {}}, "geometry"),
    ],
)
def test_refusals_name_the_field_and_save_nothing(resident, party, after, field):
    with pytest.raises(EditRejected) as exc:
        create_bench(resident, party, after=after)
    assert field in exc.value.by_field
    assert not Revision.objects.exists()


def test_unknown_node_reference_is_refused(resident, party, footway):
    nodes = [[ref, 9.52, 47.14 + i * 1e-4] for i, ref in enumerate(footway.nodes)] + [[-999, 9.521, 47.14]]
    with pytest.raises(EditRejected) as exc:
        submit_edit(
            author=resident, party=party, element_type="way", element_id=footway.osm_id, action="modify",
            after={"tags": {"highway": "footway"}, "nodes": nodes}, base_version=1,
        )  # fmt: skip
    assert exc.value.issues[0].code == "unknown_node"


def test_only_residents_of_the_party(party, other_party, agent):
    stranger = ResidentFactory(party=other_party)
    for author in (stranger, agent):
        with pytest.raises(NotAllowed):
            create_bench(author, party)


def test_outside_the_time_window(resident, party):
    party.ends_at = timezone.now() - dt.timedelta(minutes=1)
    with pytest.raises(EditRejected) as exc:
        create_bench(resident, party)
    assert exc.value.issues[0].code == "ended"
    party.starts_at, party.ends_at = (
        timezone.now() + dt.timedelta(hours=1),
        timezone.now() + dt.timedelta(hours=2),
    )
    with pytest.raises(EditRejected) as exc:
        create_bench(resident, party)
    assert exc.value.issues[0].code == "not_started"


def test_idempotency_key_returns_the_same_revision_marked_replayed(resident, party):
    first = submit_bench(resident, party, idempotency_key="k-1")
    again = submit_bench(resident, party, idempotency_key="k-1", after=point(amenity="bench", name="Other"))
    assert not first.replayed and again.replayed
    assert again.revision.pk == first.revision.pk and Revision.objects.count() == 1
    other = ResidentFactory(party=party)
    assert create_bench(other, party, idempotency_key="k-1").pk != first.revision.pk


def test_rate_limit(resident, party):
    party.rate_limit_per_minute = 3
    for _ in range(3):
        create_bench(resident, party)
    with pytest.raises(RateLimited) as exc:
        create_bench(resident, party)
    assert 1 <= exc.value.retry_after <= 60
    # A retried request (same idempotency key) is not counted against the limit.
    party.rate_limit_per_minute = 4
    create_bench(resident, party, idempotency_key="x")
    assert create_bench(resident, party, idempotency_key="x").idempotency_key == "x"


def publish(bench, **tags):
    """Someone else's change accepted meanwhile (as review would: a revision, then the store)."""
    other = ResidentFactory(party=bench_party(bench))
    coords = [bench.geom.x, bench.geom.y]
    revision = submit_edit(
        author=other, party=other.party, element_type="node", element_id=bench.osm_id, action="modify",
        after={"tags": tags, "geometry": {"type": "Point", "coordinates": coords}}, base_version=bench.version,
    ).revision  # fmt: skip
    apply_change(
        town=bench.town, element_type="node", element_id=bench.osm_id, action="modify",
        after=revision.after, base_version=revision.base_version,
    )  # fmt: skip


def bench_party(bench):
    return bench.town.parties.first()


def test_outdated_version_merges_different_keys(resident, party, bench):
    publish(bench, amenity="bench", backrest="yes")
    revision = submit_edit(
        author=resident, party=party, element_type="node", element_id=bench.osm_id, action="modify",
        after=point(amenity="bench", name="Banc"), base_version=1,
    ).revision  # fmt: skip
    assert revision.base_version == 2
    assert revision.after["tags"] == {"amenity": "bench", "backrest": "yes", "name": "Banc"}


def test_outdated_version_same_key_is_a_tag_conflict(resident, party, bench):
    publish(bench, amenity="bench", name="Theirs")
    with pytest.raises(TagConflict) as exc:
        submit_edit(
            author=resident, party=party, element_type="node", element_id=bench.osm_id, action="modify",
            after=point(amenity="bench", name="Mine"), base_version=1,
        )  # fmt: skip
    err = exc.value
    assert err.current_version == 2 and err.keys == ["name"]
    assert (err.base, err.mine, err.theirs) == (
        {"amenity": "bench"},
        {"amenity": "bench", "name": "Mine"},
        {"amenity": "bench", "name": "Theirs"},
    )
    assert Revision.objects.filter(author=resident).count() == 0


def test_outdated_delete_and_moved_on_both_sides_conflict(resident, party, bench):
    publish(bench, amenity="bench")
    with pytest.raises(Conflict):
        submit_edit(
            author=resident, party=party, element_type="node", element_id=bench.osm_id, action="delete",
            after=None, base_version=1,
        )  # fmt: skip
    bench.refresh_from_db()
    other = ResidentFactory(party=party)
    moved = submit_edit(
        author=other, party=party, element_type="node", element_id=bench.osm_id, action="modify",
        after=point(9.5211, 47.1411, amenity="bench"), base_version=2,
    ).revision  # fmt: skip
    apply_change(
        town=party.town, element_type="node", element_id=bench.osm_id, action="modify",
        after=moved.after, base_version=2,
    )  # fmt: skip
    with pytest.raises(Conflict) as exc:
        submit_edit(
            author=resident, party=party, element_type="node", element_id=bench.osm_id, action="modify",
            after=point(9.5207, 47.1409, amenity="bench"), base_version=2,
        )  # fmt: skip
    assert exc.value.current_version == 3 and not isinstance(exc.value, TagConflict)


def test_deleted_feature_conflicts(resident, party, bench):
    bench.visible = False
    bench.save()
    with pytest.raises(Conflict) as exc:
        submit_edit(
            author=resident, party=party, element_type="node", element_id=bench.osm_id, action="modify",
            after=point(amenity="bench"), base_version=1,
        )  # fmt: skip
    assert exc.value.current_version is None


def test_merge_tags_rules():
    base = {"a": "1", "b": "1", "c": "1"}
    mine = {"a": "2", "b": "1", "d": "new"}  # changed a, deleted c, added d
    theirs = {"a": "1", "b": "3", "c": "1", "e": "x"}
    assert merge_tags(base, mine, theirs) == ({"a": "2", "b": "3", "d": "new", "e": "x"}, [])
    assert merge_tags(base, {"a": "2"}, {"a": "3"})[1] == ["a", "b", "c"][:1]
    assert merge_tags(base, {"a": "2"}, {"a": "2"})[0] == {"a": "2"}


def test_quality_flags_are_stored_on_the_revision(resident, party, monkeypatch):
    monkeypatch.setattr(services, "_quality_flags", lambda revision: [{"code": "test", "level": "info"}])
    revision = create_bench(resident, party)
    revision.refresh_from_db()
    assert revision.flags == [{"code": "test", "level": "info"}]


def test_undo_withdraws_only_the_latest_pending(resident, party):
    first = create_bench(resident, party)
    second = create_bench(resident, party)
    assert undo_last_edit(resident).pk == second.pk
    assert undo_last_edit(resident).pk == first.pk
    assert undo_last_edit(resident) is None
    assert set(Revision.objects.values_list("status", flat=True)) == {"withdrawn"}


def test_undo_never_reaches_past_a_reviewed_edit(resident, party):
    older = create_bench(resident, party)
    latest = create_bench(resident, party)
    Revision.objects.filter(pk=latest.pk).update(status=Revision.Status.ACCEPTED)  # an agent was quicker
    assert undo_last_edit(resident) is None
    assert Revision.objects.get(pk=older.pk).status == Revision.Status.PENDING


def test_tags_are_stored_in_nfc_without_invisible_characters(resident, party):
    after = {
        "tags": {"amenity": "cafe", "name": "Cafe\u0301 Risch\u200e", "cuisine": "coffee\u200b_shop"},
        "geometry": {"type": "Point", "coordinates": [9.5209, 47.1410]},
    }
    revision = submit_edit(
        author=resident, party=party, element_type="node", element_id=None, action="create",
        after=after, base_version=None,
    ).revision  # fmt: skip
    assert revision.after["tags"] == {"amenity": "cafe", "name": "Café Risch", "cuisine": "coffee_shop"}


def test_history_stays_append_only(resident, party):
    revision = create_bench(resident, party)
    with pytest.raises(DatabaseError), connection.cursor() as cur:  # the trigger refuses it
        cur.execute("UPDATE mapping_revision SET after = NULL WHERE id = %s", [revision.pk])

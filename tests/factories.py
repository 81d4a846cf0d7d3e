"""factory_boy factories; unique fields use Sequence; geometries carry srid=4326 explicitly."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from mapping.models import Node, Revision
from mapping.store import apply_change, element_state, next_local_id, payload_geometry
from parties.models import Party, Town, User
from review import services as review


def publish(town: Town, element_type: str, after: dict, element=None):
    """Publish through the store, as an accepted edit does: a new element, or a change of ``element``."""
    return apply_change(
        town=town,
        element_type=element_type,
        element_id=element.osm_id if element else next_local_id(),
        action="modify" if element else "create",
        after=after,
        base_version=element.version if element else None,
    )


class TownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Town

    slug = factory.Sequence(lambda n: f"town-{n}")
    name = factory.Sequence(lambda n: f"Town {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"agent{n}")
    role = User.Role.AGENT
    town = factory.SubFactory(TownFactory)
    password = factory.django.Password("agent-password-123")


# A square around the centre of Vaduz (lon/lat, WGS84).
VADUZ_CENTRE_AREA = Polygon.from_bbox((9.515, 47.135, 9.530, 47.145))
VADUZ_CENTRE_AREA.srid = 4326


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    town = factory.SubFactory(TownFactory)
    title_fr = factory.Sequence(lambda n: f"Cartopartie {n}")
    title_en = factory.Sequence(lambda n: f"Mapping party {n}")
    area = factory.LazyFunction(lambda: VADUZ_CENTRE_AREA.clone())
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=3))


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"resident{n}")
    nickname = factory.Sequence(lambda n: f"Resident {n}")
    role = User.Role.RESIDENT
    party = factory.SubFactory(PartyFactory)
    town = factory.SelfAttribute("party.town")


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node

    town = factory.SubFactory(TownFactory)
    osm_id = factory.Sequence(lambda n: 10_000_000 + n)
    version = 1
    base_version = 1
    tags = factory.LazyFunction(lambda: {"amenity": "bench"})
    geom = factory.LazyFunction(lambda: Point(9.5209, 47.1410, srid=4326))  # Vaduz, Städtle


def _bench_payload() -> dict:
    return {"tags": {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [9.5209, 47.1410]}}


class RevisionFactory(factory.django.DjangoModelFactory):
    """A pending revision: by default a party's resident proposes a new bench (a node creation).

    ``RevisionFactory.modify(element, after)`` / ``.delete(element)`` propose changes of a published
    element, with ``before`` taken from the store as submit_edit does.
    """

    class Meta:
        model = Revision

    party = factory.SubFactory(PartyFactory)
    town = factory.SelfAttribute("party.town")
    author = factory.SubFactory(ResidentFactory, party=factory.SelfAttribute("..party"))
    element_type = "node"
    element_id = factory.LazyFunction(lambda: next_local_id())
    action = "create"
    base_version = None
    before = None
    after = factory.LazyFunction(_bench_payload)
    geom_before = factory.LazyAttribute(lambda o: payload_geometry(o.element_type, o.before))
    geom_after = factory.LazyAttribute(lambda o: payload_geometry(o.element_type, o.after))

    @classmethod
    def modify(cls, element, after: dict, **kwargs) -> Revision:
        return cls(
            town=element.town,
            element_type=element.element_type,
            element_id=element.osm_id,
            action="modify",
            base_version=element.version,
            before=element_state(element),
            after=after,
            **kwargs,
        )

    @classmethod
    def delete(cls, element, **kwargs) -> Revision:
        return cls(
            town=element.town,
            element_type=element.element_type,
            element_id=element.osm_id,
            action="delete",
            base_version=element.version,
            before=element_state(element),
            after=None,
            **kwargs,
        )


def rename_first_restaurant(party: Party, author: User, reviewer: User, name: str = "Café Amann"):
    """The party's town's first restaurant renamed by ``author`` and accepted by ``reviewer`` (the café
    of the print and privacy tests): returns (the node, the accepted revision)."""
    cafe = (
        Node.objects.filter(town=party.town, visible=True, tags__amenity="restaurant")
        .order_by("osm_id")
        .first()
    )
    after = {
        "tags": {**cafe.tags, "name": name},
        "geometry": {"type": "Point", "coordinates": list(cafe.geom.coords)},
    }
    accepted = RevisionFactory.modify(cafe, after, party=party, author=author)
    review.accept_revision(accepted, reviewer)
    return cafe, accepted

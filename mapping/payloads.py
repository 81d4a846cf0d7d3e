"""The shapes of an edit, in one place: what a resident submits, what a revision stores, what the gate
and the store take.

Payloads travel as JSON (the API, the ``before``/``after`` columns of a revision), so they are
``TypedDict``s rather than classes: a payload read back from the database is already the right value,
and mypy checks every key the code reads or writes. Nothing here imports Django, so the pure modules
(:mod:`mapping.validation`, the readers and writers) use the same enums as the services.

Payload format (the ``after`` of a revision)::

    node:     {"tags": {...}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    way:      {"tags": {...}, "nodes": [[osm_id | None, lon, lat], ...], "closed": bool}
              ("nodes" is the vertex list without repeating the first one; "closed" closes the ring)
    relation: {"tags": {...}, "members": [{"type": ..., "ref": ..., "role": ...}, ...]}

A created node or a created or modified way may carry ``"joins"`` (:class:`Join`): new vertices
inserted into other existing ways, which the same change modifies.

A *state* (a revision's ``before``, :func:`mapping.store.element_state`) is a payload with the
element's ``version`` and, for ways and relations, its derived GeoJSON ``geometry``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict


class ElementType(StrEnum):
    """OpenStreetMap's three element types (the values are OSM's own words)."""

    NODE = "node"
    WAY = "way"
    RELATION = "relation"


class Action(StrEnum):
    """What a change does to its element (osmChange's three blocks)."""

    CREATE = "create"
    MODIFY = "modify"
    DELETE = "delete"


class Geometry(TypedDict):
    """A GeoJSON geometry (a node's is a Point: ``coordinates`` = [lon, lat])."""

    type: str
    coordinates: list[Any]


class Member(TypedDict):
    """One relation member, in order: ``type`` is an :class:`ElementType` value, ``ref`` its osm_id."""

    type: str
    ref: int
    role: str


# A way vertex: [osm_id, lon, lat], osm_id None for a point drawn in this change (JSON has no tuples).
Vertex = list[Any]


class Join(TypedDict, total=False):
    """A connection to another, existing way (see docs/editing.md#connected-geometry).

    The change's new vertex (``vertex``: its index in the way's ``nodes``; a node created as a
    vertex preset is itself the vertex) is inserted into way ``way`` between its ``segment``-th and
    next node: accepting the change modifies that way too, from ``base_version``. ``before`` is that
    way's state when the change was made, filled in by the server (:func:`mapping.gate.bind_joins`),
    never taken from a client: a revert restores it.
    """

    way: int
    base_version: int
    segment: int
    vertex: int
    before: State


class Payload(TypedDict, total=False):
    """An element's content as a change proposes it (a revision's ``after``); the keys by type above.

    Not total: which keys are present depends on the element type, and the validators read a
    payload sent by a client before anything says it has them.
    """

    tags: dict[str, str]
    geometry: Geometry
    nodes: list[Vertex]
    closed: bool
    members: list[Member]
    joins: list[Join]


class State(Payload, total=False):
    """An element as the store holds it (a revision's ``before``): a payload with its version."""

    version: int


class ChangeRequest(TypedDict):
    """What a resident submits for one feature (the API's edit body, once its fields are checked)."""

    element_type: ElementType
    element_id: int | None  # None for a creation: the store gives it a new negative id
    action: Action
    after: Payload | None  # None for a deletion
    base_version: int | None  # the version the change started from (None for a creation)
    preset: str
    idempotency_key: str | None

"""Residents propose changes: submit_edit() stores a pending revision, undo_last_edit() withdraws one.

The published store never changes here (only mapping.store.apply_change does, on review). A change is
checked in this order, and nothing is saved unless every check passes:

1. the author is a resident of the party, the party is open now (time window);
2. idempotency: the same (author, key) returns the revision already saved;
3. the per-resident rate limit (counted in the database, so it holds across server processes);
4. the gate (mapping.gate, the same rules as every other write): tags and geometry, references,
   every touched position in the party area;
5. optimistic concurrency, as OSM's API: a change based on an outdated version is a
   :class:`~mapping.store.Conflict` (409), unless the tags merge key by key as iD merges them.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Invalid, NotAllowed, TooMany
from mapping import gate, quality, store
from mapping.models import Revision
from mapping.payloads import Action, ElementType, Payload, State
from mapping.validation import Issue, issues_by_field
from parties.models import Party, User

logger = logging.getLogger(__name__)

RATE_WINDOW = dt.timedelta(seconds=60)


class EditRejected(Invalid):
    """The change is refused (HTTP 400); ``issues`` say why, field by field (the body of the answer)."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(i.message for i in issues))

    @property
    def by_field(self) -> dict[str, list[str]]:
        return issues_by_field(self.issues)

    def payload(self) -> dict[str, list[str]]:
        return self.by_field


class RateLimited(TooMany):
    """Too many changes in the last minute (HTTP 429); retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(
            _("Too many changes in a minute: wait %(s)s s and save again.") % {"s": retry_after},
            retry_after=retry_after,
        )


class TagConflict(store.Conflict):
    """The same keys were changed here and in the intervening version: the resident chooses."""

    def __init__(
        self,
        element_type: str,
        element_id: int,
        current_version: int,
        current: State,
        *,
        base: dict[str, str],
        mine: dict[str, str],
        theirs: dict[str, str],
        keys: list[str],
    ):
        super().__init__(element_type, element_id, current_version, current)
        self.base, self.mine, self.theirs, self.keys = base, mine, theirs, keys

    def payload(self) -> dict[str, Any]:
        tags = {"keys": self.keys, "base": self.base, "mine": self.mine, "theirs": self.theirs}
        return {**super().payload(), "tags": tags}


def _reject(field: str, code: str, message: str) -> EditRejected:
    return EditRejected([Issue(field, code, message)])


def check_can_edit(author: User, party: Party) -> None:
    """Raise NotAllowed unless ``author`` is a resident of ``party``."""
    if not (
        getattr(author, "is_authenticated", False)
        and author.role == User.Role.RESIDENT
        and author.party_id == party.pk
        and author.town_id == party.town_id
    ):
        raise NotAllowed(_("Only residents who joined this party can edit its map."))


def _check_open(party: Party) -> None:
    now = timezone.now()
    if now < party.starts_at:
        raise _reject("party", "not_started", _("This party has not started yet."))
    if now > party.ends_at:
        raise _reject("party", "ended", _("This party is over: changes are closed."))


def _recent_activity(author: User, idempotency_key: str | None) -> dict[str, Any]:
    """One query: the author's revisions of the last minute (count, oldest) and the id of the revision
    already saved under ``idempotency_key``, if any."""
    since = timezone.now() - RATE_WINDOW
    recent = Q(created_at__gte=since)
    replay = Q(idempotency_key=idempotency_key) if idempotency_key else Q(pk__in=[])
    return Revision.objects.filter(recent | replay, author=author).aggregate(
        count=Count("pk", filter=recent),
        oldest=Min("created_at", filter=recent),
        replay=Max("pk", filter=replay),
    )


# Namespace of the per-author advisory locks (pg_advisory_xact_lock's first key): "cpre" in ASCII.
AUTHOR_LOCK = 0x63707265


def _serialise_author(author: User) -> None:
    """Take the author's transaction-scoped advisory lock, so one author's writes count one at a time.

    Without it, parallel requests each count the revisions committed before any of them saves, and all
    pass the rate limit (9 of 10 with a limit of 2). Held until the transaction ends; other authors
    never wait. The count that follows is a new statement, so it sees what the previous holder saved.
    """
    with connection.cursor() as cur:
        # hashtext: an int4 key from any id (two authors sharing a hash only wait for each other).
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))", [AUTHOR_LOCK, author.pk])


def _check_rate(party: Party, activity: dict[str, Any]) -> None:
    """At most party.rate_limit_per_minute revisions in any 60 s by one resident."""
    limit = party.rate_limit_per_minute
    if limit and activity["count"] >= limit:
        # Once the oldest revision of the window leaves it, there is room for one more.
        wait = (activity["oldest"] + RATE_WINDOW - timezone.now()).total_seconds()
        raise RateLimited(max(1, math.ceil(wait)))


def _normalise_after(element_type: str, after: Any) -> Payload:
    """Validate a create/modify payload; returns it in the store's format (tags as a dict)."""
    try:
        return gate.normalise(element_type, after)
    except gate.Refused as exc:
        raise EditRejected(exc.issues) from exc


def _shape(element_type: str, state: Payload | None) -> Any:
    """The geometry part of a state, for comparing versions (tags aside)."""
    if not state:
        return None
    if element_type == ElementType.NODE:
        return [round(float(c), 7) for c in state["geometry"]["coordinates"][:2]]
    if element_type == ElementType.WAY:
        return [[n[0], round(float(n[1]), 7), round(float(n[2]), 7)] for n in state.get("nodes", [])] + [
            bool(state.get("closed"))
        ]
    return state.get("members")


def _base_state(party: Party, element_type: str, element_id: int, version: int | None) -> State | None:
    """The element as it was at ``version``: the ``before`` of any revision that started from it."""
    if version is None:
        return None
    revision = (
        Revision.objects.filter(
            town_id=party.town_id,
            element_type=element_type,
            element_id=element_id,
            before__version=version,
        )
        .only("before")
        .first()
    )
    return revision.before if revision else None


def merge_tags(
    base: dict[str, str], mine: dict[str, str], theirs: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Three-way merge key by key, as iD does: (merged tags, keys changed differently on both sides)."""
    merged: dict[str, str] = {}
    conflicts: list[str] = []
    for key in sorted(set(base) | set(mine) | set(theirs)):
        b, m, t = base.get(key), mine.get(key), theirs.get(key)
        if m == b:
            value = t
        elif t in (b, m):
            value = m
        else:
            conflicts.append(key)
            continue
        if value is not None:
            merged[key] = value
    return merged, conflicts


@dataclass
class ThreeWay:
    """A change started from ``base`` laid onto ``current`` (iD's merge): what merges, what does not.

    ``merged`` is the change rebased onto ``current`` with every clean part merged (a conflicting key
    keeps ``current``'s value until someone chooses); ``keys`` are the tag keys both sides changed
    differently; ``geometry`` is True when both sides changed the shape differently.
    """

    base: State
    mine: Payload
    theirs: State
    merged: Payload
    keys: list[str]
    geometry: bool

    @property
    def clean(self) -> bool:
        return not self.keys and not self.geometry


# The sides a person may pick for each conflicting key (or the shape).
SIDES = ("base", "theirs", "mine")


def three_way(element_type: str, base: State, after: Payload, current: State) -> ThreeWay:
    """Merge ``after`` (started from ``base``) with ``current`` key by key; the shape is kept from the
    side that changed it (``current``'s when both changed it differently: see ``geometry``)."""
    mine_shape, base_shape, theirs_shape = (
        _shape(element_type, after),
        _shape(element_type, base),
        _shape(element_type, current),
    )
    geometry = mine_shape != base_shape and theirs_shape != base_shape and mine_shape != theirs_shape
    tags, keys = merge_tags(base.get("tags") or {}, after.get("tags") or {}, current.get("tags") or {})
    for key in keys:
        if key in (current.get("tags") or {}):
            tags[key] = current["tags"][key]
    merged: Payload = {**after, "tags": dict(sorted(tags.items()))}
    if mine_shape == base_shape or geometry:  # only the other side moved it (or both did): theirs
        _take_shape(merged, current)
    if element_type == ElementType.WAY:
        merged.pop("geometry", None)
    merged.pop("version", None)  # type: ignore[typeddict-item]  # a state passed as ``after`` has one
    return ThreeWay(base, after, current, merged, keys, geometry)


def _take_shape(payload: Payload, state: Payload) -> None:
    payload.pop("joins", None)  # the junctions were drawn on the other shape
    if "geometry" in state:
        payload["geometry"] = state["geometry"]
    if "nodes" in state:
        payload["nodes"] = state["nodes"]
    if "closed" in state:
        payload["closed"] = state["closed"]
    if "members" in state:
        payload["members"] = state["members"]


def resolve(merge: ThreeWay, choices: dict[str, Any] | None) -> Payload | None:
    """The merged payload with a person's ``choices`` for the conflicts, or None while one is left open.

    ``choices`` is ``{"tags": {key: "base" | "theirs" | "mine"}, "geometry": "theirs" | "mine"}``; a
    side whose value is absent removes the key.
    """
    choices = choices if isinstance(choices, dict) else {}
    tags = choices.get("tags")
    picked: dict[str, Any] = tags if isinstance(tags, dict) else {}
    if any(picked.get(key) not in SIDES for key in merge.keys):
        return None
    if merge.geometry and choices.get("geometry") not in ("theirs", "mine"):
        return None
    payload: Payload = {**merge.merged, "tags": dict(merge.merged["tags"])}
    sides = {"base": merge.base, "theirs": merge.theirs, "mine": merge.mine}
    for key in merge.keys:
        value = (sides[picked[key]].get("tags") or {}).get(key)
        if value is None:
            payload["tags"].pop(key, None)
        else:
            payload["tags"][key] = value
    payload["tags"] = dict(sorted(payload["tags"].items()))
    if merge.geometry and choices.get("geometry") == "mine":
        _take_shape(payload, merge.mine)
    return payload


def _merge_or_conflict(
    party: Party, element_type: str, element_id: int, base_version: int | None, after: Payload, current: State
) -> Payload:
    """Rebase ``after`` (started from ``base_version``) onto ``current``, or raise a Conflict."""
    current_version = current["version"]
    base = _base_state(party, element_type, element_id, base_version)
    if base is None:
        raise store.Conflict(element_type, element_id, current_version, current)
    merge = three_way(element_type, base, after, current)
    if merge.geometry:
        raise store.Conflict(element_type, element_id, current_version, current)
    if merge.keys:
        raise TagConflict(
            element_type,
            element_id,
            current_version,
            current,
            base=base["tags"],
            mine=after["tags"],
            theirs=current["tags"],
            keys=merge.keys,
        )
    return merge.merged


def _quality_flags(revision: Revision) -> list[dict[str, Any]]:
    """The automatic checks of :mod:`mapping.quality`, stored on the revision for its reviewers."""
    return quality.run_checks(revision)


@dataclass(frozen=True)
class SubmitResult:
    """What :func:`submit_edit` saved: the revision, and whether it was saved by an earlier request with
    the same idempotency key (``replayed``: the API answers 200 instead of 201)."""

    revision: Revision
    replayed: bool = False


@transaction.atomic
def submit_edit(
    *,
    author: User,
    party: Party,
    element_type: str,
    element_id: int | None,
    action: str,
    after: Payload | None,
    base_version: int | None,
    preset: str = "",
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Store a resident's proposed change as a pending revision; the published map does not change.

    Preconditions: ``party`` was looked up from the author's town. Runs in one transaction: either
    the revision is saved with its flags, or nothing is. Raises NotAllowed (403), EditRejected (400),
    RateLimited (429) or store.Conflict / TagConflict (409). The same ``idempotency_key`` from the
    same author returns the revision saved the first time, whatever the payload, with ``replayed``.
    """
    check_can_edit(author, party)
    _serialise_author(author)
    activity = _recent_activity(author, idempotency_key)
    if activity["replay"] is not None:
        return SubmitResult(Revision.objects.get(pk=activity["replay"]), replayed=True)
    _check_open(party)
    if element_type not in [t.value for t in ElementType]:
        raise _reject("element_type", "unknown", _("Unknown element type."))
    if action not in [a.value for a in Action]:
        raise _reject("action", "unknown", _("Unknown action: create, modify or delete."))
    _check_rate(party, activity)

    new_after = None if action == Action.DELETE else _normalise_after(element_type, after)
    current = None
    before = None
    if action == Action.CREATE:
        element_id = store.next_local_id()
        base_version = None
    else:
        if element_id is None:
            raise _reject("element_id", "required", _("Which feature? The element id is missing."))
        element = store.get_element(party.town, element_type, element_id)
        if element is None or not element.visible:
            raise store.Conflict(element_type, element_id, None, None)
        before = current = store.element_state(element)
        if base_version != element.version:
            if new_after is None:
                raise store.Conflict(element_type, element_id, element.version, current)
            new_after = _merge_or_conflict(party, element_type, element_id, base_version, new_after, current)
            base_version = element.version
    try:
        gate.bind_joins(party.town_id, element_type, action, new_after)
        gate.check_change(
            party.town_id, gate.Change(element_type, action, before, new_after, party.area, element_id)
        )
    except gate.Refused as exc:
        raise EditRejected(exc.issues) from exc

    geom_after = store.payload_geometry(element_type, new_after)
    geom_before = store.payload_geometry(element_type, before) if before else None

    revision = Revision(
        town_id=party.town_id,
        party=party,
        author=author,
        element_type=element_type,
        element_id=element_id,
        action=action,
        base_version=base_version,
        before=before,
        after=new_after,
        geom_before=geom_before,
        geom_after=geom_after,
        preset=preset[:100],
        idempotency_key=idempotency_key or None,
    )
    revision.flags = _quality_flags(revision)  # the checks accept an unsaved revision: one INSERT
    try:
        with transaction.atomic():
            revision.save()
    except IntegrityError:
        # The same key was saved concurrently (a retried request): answer with that revision.
        existing = Revision.objects.filter(author=author, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return SubmitResult(existing, replayed=True)
    return SubmitResult(revision)


@transaction.atomic
def undo_last_edit(author: User) -> Revision | None:
    """Withdraw the author's latest change if it still waits for review; None when there is none.

    "Latest" is the latest revision not withdrawn yet, whatever its status: when an agent accepted or
    rejected it first, Undo does nothing rather than reach back to an older, unrelated edit. The
    author's lock (as for saving) orders two Undos of one author; the row is locked (``SELECT ... FOR UPDATE``) and its status read after the lock, so Undo and an accept racing
    on the same revision are serialised: one wins, the other sees the new status. Only the status
    changes (revisions are append-only); the published map was never touched.
    """
    _serialise_author(author)  # two taps at once undo two edits, one after the other
    latest = (
        Revision.objects.filter(author=author)
        .exclude(status=Revision.Status.WITHDRAWN)
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    revision = Revision.objects.select_for_update(of=("self",)).filter(pk=Subquery(latest)).first()
    if revision is None or revision.status != Revision.Status.PENDING:
        return None
    revision.status = Revision.Status.WITHDRAWN
    revision.save(update_fields=["status"])
    return revision

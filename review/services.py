"""Review services: agents accept, reject, request changes, fix then accept, bulk-decide and revert.

Only reviewed data is published: a pending revision never touches the store, so the published
version stays live while it waits. Accepting goes through :func:`mapping.store.apply_change` (the one
writer of published data) inside the same transaction as the status change and the decision log row,
so an accept is all or nothing.

Rules enforced here (views only translate exceptions into HTTP statuses):

* only agents of the revision's town decide (:class:`NotAllowed`, 403; another town's revisions are
  never even looked up by the views, which answer 404);
* nobody reviews their own edits (reverts excepted: a revert is the agent's own decision, logged);
* a revision is decided once: the revision row is locked (``SELECT ... FOR UPDATE``), so of two agents
  deciding at once exactly one wins and the other gets :class:`AlreadyReviewed` (a 409 Conflict);
* review never dead-ends: an edit whose feature got a newer published version after it was made is
  re-applied onto that version with iD's per-key merge (accept, fix then accept and bulk accept
  alike); when both changed the same key or the shape differently, :class:`MergeConflict` (409)
  carries the three-way choice and the agent accepts again with ``choices``; an edit of a feature
  deleted since can only be rejected (:class:`FeatureGone`);
* every decision is one :class:`~mapping.models.ReviewDecision` row (append-only in the database);
* whatever is published (accept, fix, amend, bulk, revert) passes :mod:`mapping.gate` first, the same
  rules as the resident's own edit (:class:`ReviewError`, 400; in bulk, per revision), a merged
  edit once more as merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Invalid, NotAllowed
from mapping.gate import SAME_PLACE, Change, Refused, bind_joins, check_change, normalise
from mapping.models import Element, ElementType, Node, ReviewDecision, Revision, Way
from mapping.payloads import Payload, State
from mapping.quality import run_checks
from mapping.services import ThreeWay, resolve, three_way
from mapping.store import (
    Conflict,
    JoinConflict,
    StoreError,
    apply_change,
    element_state,
    get_element,
    next_local_id,
    payload_geometry,
)
from parties.models import Party, Town, User
from parties.permissions import is_agent_of
from review.bulk import apply_in_bulk, refuse_at_gate

Status = Revision.Status
Decision = ReviewDecision.Decision

# Canned reasons, shown to residents in their own language (the free comment is shown as written).
REASONS: dict[str, Any] = {
    "duplicate": gettext_lazy("This feature is already on the map."),
    "not_verifiable": gettext_lazy("We could not verify this on the ground."),
    "wrong_place": gettext_lazy("The position or shape is not right."),
    "wrong_tags": gettext_lazy("The kind of feature or its details are not right."),
    "outside_area": gettext_lazy("This is outside the party's area."),
    "private": gettext_lazy("This is private information that cannot be published."),
    "other": gettext_lazy("Another reason (see the comment)."),
}


class ReviewError(Invalid):
    """The request cannot be carried out as asked (missing reason, wrong status...): HTTP 400."""


class AlreadyReviewed(Conflict):
    """Someone decided this revision first (HTTP 409): reload the queue."""

    def payload(self) -> dict[str, Any]:
        return {"detail": self.message}

    def __init__(self, revision: Revision):
        Exception.__init__(
            self,
            _("Revision #%(id)s was already reviewed by someone else (%(status)s): the queue was refreshed.")
            % {"id": revision.pk, "status": revision.get_status_display()},
        )
        self.element_type, self.element_id = revision.element_type, revision.element_id
        self.current_version, self.current = None, None


class MergeConflict(Conflict):
    """This edit and the version published since changed the same keys (or the shape) differently.

    HTTP 409 with the three-way choice: for each key in ``merge.keys`` (and the shape when
    ``merge.geometry``) the agent picks the base, the published ("theirs") or this edit's ("mine")
    value, then accepts again with those ``choices`` (see :func:`mapping.services.resolve`).
    """

    def __init__(self, revision: Revision, merge: ThreeWay, current_version: int, *, deletion: bool = False):
        if deletion:
            what = _("This edit deletes the feature, but it was changed since (now version %(v)s).")
        elif merge.keys and merge.geometry:
            what = _(
                "This edit and the version published since (version %(v)s) both changed %(keys)s and the shape."
            )
        elif merge.keys:
            what = _("This edit and the version published since (version %(v)s) both changed %(keys)s.")
        else:
            what = _("This edit and the version published since (version %(v)s) both changed the shape.")
        Exception.__init__(
            self,
            what % {"v": current_version, "keys": ", ".join(merge.keys)}
            + " "
            + _("Choose which version to keep, then accept."),
        )
        self.element_type, self.element_id = revision.element_type, revision.element_id
        self.current_version, self.current = current_version, merge.theirs
        self.merge, self.deletion = merge, deletion

    def as_dict(self) -> dict[str, Any]:
        """The choice as the API gives it (what a client needs to ask the agent and send ``choices``)."""
        return conflict_dict(self.merge, self.current_version, deletion=self.deletion)

    def payload(self) -> dict[str, Any]:
        return {"detail": self.message, "conflict": self.as_dict()}


class FeatureGone(Conflict):
    """The feature was deleted after this edit was made: the edit can no longer be published (409)."""

    def __init__(self, revision: Revision, current_version: int):
        Exception.__init__(
            self,
            _("This feature was deleted after this edit was made (version %(v)s): reject the edit.")
            % {"v": current_version},
        )
        self.element_type, self.element_id = revision.element_type, revision.element_id
        self.current_version, self.current = current_version, None

    def payload(self) -> dict[str, Any]:
        return {"detail": self.message}


def conflict_dict(merge: ThreeWay, current_version: int | None, *, deletion: bool = False) -> dict[str, Any]:
    """Base, published and this edit's value of each conflicting key, and whether the shape conflicts."""
    sides = {"base": merge.base, "theirs": merge.theirs, "mine": merge.mine}
    return {
        "current_version": current_version,
        "keys": merge.keys,
        "tags": {
            key: {side: (state.get("tags") or {}).get(key) for side, state in sides.items()}
            for key in merge.keys
        },
        "geometry": merge.geometry,
        "deletion": deletion,
        "merged_tags": merge.merged.get("tags", {}) if merge.merged else {},
    }


def reason_text(code: str, comment: str = "") -> str:
    """The reason as stored on the revision: the comment, or the canned reason (in the current language)."""
    if comment.strip():
        return comment.strip()
    return str(REASONS.get(code, "")) if code else ""


# --- Selectors ---------------------------------------------------------------------------------


def revisions_for_reviewer(user: User) -> QuerySet[Revision]:
    """Every revision an agent may see: their own town's, nothing else (the start of every lookup)."""
    if not (user.is_authenticated and user.role == User.Role.AGENT and user.town_id):
        return Revision.objects.none()
    return Revision.objects.filter(town_id=user.town_id)


def pending_selection(
    town: Town,
    *,
    ids: Iterable[int] | None = None,
    author: int | None = None,
    party: int | None = None,
) -> QuerySet[Revision]:
    """Pending revisions of ``town`` narrowed to a selection, a contributor or a party."""
    qs = Revision.objects.filter(town=town, status=Status.PENDING)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if author is not None:
        qs = qs.filter(author_id=author)
    if party is not None:
        qs = qs.filter(party_id=party)
    return qs


def applied_payload(revision: Revision) -> dict | None:
    """What accepting this revision actually published: the agent's fix or the merge onto a newer
    version if any, else the proposal."""
    applied = (
        revision.decisions.filter(decision__in=ReviewDecision.APPLIED, amended_after__isnull=False)
        .order_by("-pk")
        .first()
    )
    return applied.amended_after if applied else revision.after


# --- Single decisions --------------------------------------------------------------------------


def _check_reviewer(revision: Revision, reviewer: User, *, own_allowed: bool = False) -> None:
    if not is_agent_of(reviewer, revision.town):
        raise NotAllowed(_("Only the town's agents review its edits."))
    if not own_allowed and revision.author_id == reviewer.pk:
        raise NotAllowed(_("Nobody reviews their own edits: ask another agent."))


# A revision sent back for changes can still be decided (its author may never amend it).
DECIDABLE = (Status.PENDING, Status.NEEDS_CHANGES)


def _lock_pending(revision: Revision, reviewer: User, allowed: tuple[str, ...] = DECIDABLE) -> Revision:
    """Lock the revision row and check it still waits for a decision (precondition: in a transaction)."""
    _check_reviewer(revision, reviewer)
    locked = Revision.objects.select_for_update(of=("self",)).select_related("town").get(pk=revision.pk)
    if locked.status not in allowed:
        raise AlreadyReviewed(locked)
    return locked


def _decide(
    revision: Revision,
    reviewer: User,
    status: str,
    decision: str,
    *,
    reason: str = "",
    reason_code: str = "",
    **log: Any,
) -> ReviewDecision:
    now = timezone.now()
    shown = reason_text(reason_code, reason)
    Revision.objects.filter(pk=revision.pk).update(
        status=status, reviewer=reviewer, reviewed_at=now, review_reason=shown
    )
    revision.status, revision.reviewer, revision.reviewed_at, revision.review_reason = (
        status,
        reviewer,
        now,
        shown,
    )
    return ReviewDecision.objects.create(
        town_id=revision.town_id,
        revision=revision,
        decision=decision,
        reviewer=reviewer,
        reason_code=reason_code,
        reason=reason.strip(),
        **log,
    )


@dataclass
class Outdated:
    """A pending edit whose base version is no longer the published one (see :func:`outdated`)."""

    current_version: int
    merge: ThreeWay | None = None  # None when the feature is gone or the edit deletes it
    gone: bool = False
    deletion: bool = False

    @property
    def clean(self) -> bool:
        return self.merge is not None and self.merge.clean

    def as_dict(self) -> dict[str, Any]:
        if self.merge is None:
            return {"current_version": self.current_version, "gone": self.gone, "deletion": self.deletion}
        return {**conflict_dict(self.merge, self.current_version), "gone": False, "clean": self.clean}


def _against(rev: Revision, after: Payload | None, version: int, current: State | None) -> Outdated | None:
    """How ``after`` (this edit, or an agent's fix of it) stands against published ``current``."""
    if version == rev.base_version:
        return None  # nothing newer: apply_change decides
    if current is None:
        return Outdated(version, gone=True)
    if rev.action == Revision.Action.DELETE:
        return Outdated(version, ThreeWay(rev.before or State(), {}, current, {}, [], True), deletion=True)
    return Outdated(version, three_way(rev.element_type, rev.before or State(), after or Payload(), current))


def outdated(rev: Revision) -> Outdated | None:
    """For the revision page and API: was a newer version published since this edit? (one query)"""
    if rev.status not in DECIDABLE or rev.action == Revision.Action.CREATE or rev.base_version is None:
        return None
    element = get_element(rev.town, rev.element_type, rev.element_id)
    if element is None:
        return None
    return _against(rev, rev.after, element.version, element_state(element) if element.visible else None)


def _resolved(rev: Revision, state: Outdated, choices: dict | None) -> tuple[Payload | None, int, bool]:
    """(payload, base version, merged?) once ``state``'s conflicts are settled by ``choices``.

    Raises :class:`FeatureGone`, or :class:`MergeConflict` while a conflicting key (or the shape, or
    a deletion of a changed feature) has no choice in ``choices``.
    """
    if state.gone:
        raise FeatureGone(rev, state.current_version)
    merge = state.merge
    assert merge is not None
    if state.deletion:
        if not (isinstance(choices, dict) and choices.get("geometry") == "mine"):
            raise MergeConflict(rev, merge, state.current_version, deletion=True)
        return None, state.current_version, False
    payload = merge.merged if merge.clean else resolve(merge, choices)
    if payload is None:
        raise MergeConflict(rev, merge, state.current_version)
    return payload, state.current_version, True


def _apply_onto_current(
    rev: Revision, after: Payload | None, choices: dict | None
) -> tuple[Element, Payload | None, bool]:
    """Apply ``after``; when another change was published since, re-apply it onto that version.

    Returns (element, what was published, merged?). The usual case costs nothing extra: the merge
    starts from the Conflict ``apply_change`` raises (with the current state), and the second
    ``apply_change`` checks the version again, so a change slipping in between is a plain Conflict.
    """
    change: dict[str, Any] = {
        "town": rev.town,
        "element_type": rev.element_type,
        "element_id": rev.element_id,
        "action": rev.action,
    }
    try:
        _gated(rev, after)  # a refusal against a state that moved on is the Conflict below
        return apply_change(**change, after=after, base_version=rev.base_version), after, False
    except Conflict as exc:
        if isinstance(exc, JoinConflict) or rev.action == Revision.Action.CREATE or rev.base_version is None:
            raise  # a joined way changed: the junction is drawn again, no merge
        state = _against(rev, after, exc.current_version, exc.current) if exc.current_version else None
        if state is None and exc.current is None:
            state = Outdated(rev.base_version, gone=True)
        if state is None:
            raise
        payload, base_version, merged = _resolved(rev, state, choices)
        current = exc.current
    _gated(rev, payload, before=current)  # the merge is what gets published: the same rules
    return apply_change(**change, after=payload, base_version=base_version), payload, merged


def _merge_log(rev: Revision, payload: Payload | None, merged: bool) -> dict[str, Any]:
    """A merged accept keeps what was really published on its decision row (``amended_after``)."""
    if not merged:
        return {}
    return {"amended_after": payload, "geom_amended": payload_geometry(rev.element_type, payload)}


@transaction.atomic
def accept_revision(revision: Revision, reviewer: User, choices: dict | None = None) -> ReviewDecision:
    """Publish a pending revision: applied to the store, status accepted, decision logged, atomically.

    When another change of the feature was published after this edit was made, the edit is re-applied
    onto the published version with iD's per-key merge (:func:`mapping.services.three_way`); where
    both changed the same key (or the shape) differently, the agent's ``choices`` settle it, else
    :class:`MergeConflict` (409) carries the three-way choice. Preconditions: ``reviewer`` is an agent
    of the revision's town and not its author. Raises :class:`AlreadyReviewed` when another decision
    won the race, :class:`FeatureGone` when the feature was deleted since,
    :class:`~mapping.store.StoreError` when the change cannot be applied; nothing is changed then.
    """
    rev = _lock_pending(revision, reviewer)
    element, after, merged = _apply_onto_current(rev, rev.after, choices)
    return _decide(
        rev,
        reviewer,
        Status.ACCEPTED,
        Decision.ACCEPTED,
        version_after=element.version,
        **_merge_log(rev, after, merged),
    )


def _require_reason(reason: str, reason_code: str) -> None:
    if reason_code and reason_code not in REASONS:
        raise ReviewError(_("Unknown reason."))
    if not reason_text(reason_code, reason):
        raise ReviewError(_("Give a reason: the contributor will read it."))


@transaction.atomic
def reject_revision(revision: Revision, reviewer: User, reason: str, reason_code: str = "") -> ReviewDecision:
    """Refuse a pending revision with a reason (a canned ``reason_code`` and/or a comment; required).

    Nothing is published. Same permission and race rules as :func:`accept_revision`.
    """
    _require_reason(reason, reason_code)
    rev = _lock_pending(revision, reviewer)
    return _decide(rev, reviewer, Status.REJECTED, Decision.REJECTED, reason=reason, reason_code=reason_code)


@transaction.atomic
def request_changes(revision: Revision, reviewer: User, reason: str, reason_code: str = "") -> ReviewDecision:
    """Send a pending revision back to its author with a reason; they may amend it (:func:`amend_revision`)."""
    _require_reason(reason, reason_code)
    rev = _lock_pending(revision, reviewer, allowed=(Status.PENDING,))
    return _decide(
        rev, reviewer, Status.NEEDS_CHANGES, Decision.NEEDS_CHANGES, reason=reason, reason_code=reason_code
    )


def _normalised(rev: Revision, after: Any) -> Payload:
    """A person's payload (an agent's fix, an amendment) in the store's format, its junctions bound to
    the ways as they are now (:func:`mapping.gate.bind_joins`), or ReviewError (Conflict: 409)."""
    try:
        payload = normalise(rev.element_type, after)
        bind_joins(rev.town_id, rev.element_type, rev.action, payload, (rev.after or {}).get("joins") or [])
    except Refused as exc:
        raise ReviewError(str(exc)) from exc
    return payload


def _gated(rev: Revision, after: Payload | None, before: State | None = None) -> None:
    """The gate's rules (mapping.gate) for publishing ``after`` as this revision: the same as for the
    resident's own edit, in the revision's party area (one query for the area, one for references).

    ``before`` is given for a merged edit: the published state it is laid onto, against which a
    refusal is final (400), not a sign that the state moved on."""
    area = (
        Party.objects.filter(pk=rev.party_id).values_list("area", flat=True).first() if rev.party_id else None
    )
    try:
        start = rev.before if before is None else before
        check_change(rev.town_id, Change(rev.element_type, rev.action, start, after, area, rev.element_id))
    except Refused as exc:
        # Judged against a state that has moved on: that is the 409 the store would answer.
        if before is None and rev.action != Revision.Action.CREATE:
            element = get_element(rev.town, rev.element_type, rev.element_id)
            if element is None or not element.visible or element.version != rev.base_version:
                raise Conflict(
                    rev.element_type,
                    rev.element_id,
                    element.version if element else None,
                    element_state(element) if element else None,
                ) from exc
        raise ReviewError(str(exc)) from exc


@transaction.atomic
def fix_and_accept(
    revision: Revision, reviewer: User, after: Any, choices: dict | None = None
) -> ReviewDecision:
    """Accept a pending revision with the agent's corrected payload, in one step.

    The revision keeps the resident's proposal (history is append-only); the decision row keeps the
    agent's payload (``amended_after``), so the change is credited to both. Deletions cannot be
    fixed (accept or reject them). Raises :class:`ReviewError` for an invalid payload.
    """
    if revision.action == Revision.Action.DELETE:
        raise ReviewError(_("A deletion cannot be fixed: accept or reject it."))
    after = _normalised(revision, after)
    rev = _lock_pending(revision, reviewer)
    element, after, _merged = _apply_onto_current(rev, after, choices)  # as accept_revision does
    return _decide(
        rev,
        reviewer,
        Status.ACCEPTED,
        Decision.FIXED,
        amended_after=after,
        geom_amended=payload_geometry(rev.element_type, after),
        version_after=element.version,
    )


@transaction.atomic
def amend_revision(revision: Revision, author: User, after: Any) -> Revision:
    """The author answers a request for changes: a new pending revision supersedes the old one.

    Preconditions: ``author`` wrote ``revision`` and it is in ``needs_changes``. The old revision is
    withdrawn and the log links it to its successor; quality checks run on the new one.
    """
    locked = Revision.objects.select_for_update(of=("self",)).get(pk=revision.pk)
    if locked.author_id != author.pk:
        raise NotAllowed(_("Only the author can amend a contribution."))
    if locked.status != Status.NEEDS_CHANGES:
        raise AlreadyReviewed(locked)
    after = _normalised(locked, after)
    _gated(locked, after)
    new = Revision(
        town_id=locked.town_id,
        party_id=locked.party_id,
        author=author,
        element_type=locked.element_type,
        element_id=locked.element_id,
        action=locked.action,
        base_version=locked.base_version,
        before=locked.before,
        after=after,
        geom_before=locked.geom_before,
        geom_after=payload_geometry(locked.element_type, after),
        preset=locked.preset,
    )
    new.flags = run_checks(new)
    new.save()
    Revision.objects.filter(pk=locked.pk).update(status=Status.WITHDRAWN)
    ReviewDecision.objects.create(
        town_id=locked.town_id, revision=locked, decision=Decision.SUPERSEDED, reviewer=author, successor=new
    )
    return new


# --- Revert ------------------------------------------------------------------------------------


def _restorable_way_nodes(town: Town, nodes: list) -> list:
    """Vertices to restore: nodes deleted since (orphans) come back as new vertices."""
    refs = [n[0] for n in nodes if n[0] is not None]
    alive = set(
        Node.objects.filter(town=town, osm_id__in=refs, visible=True).values_list("osm_id", flat=True)
    )
    return [[n[0] if n[0] in alive else None, n[1], n[2]] for n in nodes]


def _restore_payload(element_type: str, town: Town, state: State) -> Payload:
    payload = state.copy()
    payload.pop("version", None)
    if element_type == ElementType.WAY:
        payload["nodes"] = _restorable_way_nodes(town, payload.get("nodes", []))
    return payload


def _before_merge(rev: Revision, applied: ReviewDecision) -> State:
    """What the feature was just before ``applied`` published ``rev``: ``rev.before``, unless the edit
    was merged onto a version published after it (then that version, as its own accept published it),
    so reverting a merged edit never undoes the other edit too."""
    if (
        rev.base_version is None
        or applied.version_after is None
        or rev.base_version == applied.version_after - 1
    ):
        assert rev.before is not None  # reverts call this for a modification or deletion: never None
        return rev.before
    prior = (
        ReviewDecision.objects.filter(
            town_id=rev.town_id,
            revision__element_type=rev.element_type,
            revision__element_id=rev.element_id,
            decision__in=ReviewDecision.APPLIED,
            version_after=applied.version_after - 1,
        )
        .select_related("revision")
        .order_by("-pk")
        .first()
    )
    if prior is None:
        raise ReviewError(
            _(
                "This edit was merged onto a version that did not come from review: change the feature instead."
            )
        )
    published = prior.amended_after if prior.amended_after is not None else prior.revision.after
    assert published is not None  # an applied decision published a state (a deletion does not merge)
    return published


def _check_points_unchanged_since(rev: Revision, applied: ReviewDecision, element: Element) -> None:
    """Refuse to revert a way's reshaping or deletion once a later accepted change moved one of its points.

    Reverting puts every point back where the revision found it, the points it shares with other
    features included (they drag those features back too). A point that a later change moved would
    silently lose that change, so the agent reverts the later change first. The element's own
    version is checked by the caller; this covers its points (one query).
    """
    if rev.element_type != ElementType.WAY or rev.action == Revision.Action.CREATE:
        return
    assert isinstance(element, Way)  # the revision's element, a way
    expected: dict[int, tuple[float, float]] = {}
    payload = applied.amended_after or rev.after
    if payload is not None:  # the way's node list is still the one this revision wrote
        expected.update(
            (ref, (float(n[1]), float(n[2]))) for ref, n in zip(element.nodes, payload["nodes"], strict=False)
        )
    for ref, lon, lat in (rev.before or {}).get("nodes", []):
        if ref is not None:
            expected.setdefault(ref, (float(lon), float(lat)))
    for ref, geom in Node.objects.filter(
        town_id=rev.town_id, osm_id__in=list(expected), visible=True
    ).values_list("osm_id", "geom"):
        lon, lat = expected[ref]
        if abs(geom.x - lon) >= SAME_PLACE or abs(geom.y - lat) >= SAME_PLACE:
            raise ReviewError(
                _("A later accepted change moved a point of this feature: revert that change first.")
            )


def _restore_joined_ways(rev: Revision, payload: dict | None, element: Element) -> None:
    """Take out of the other ways the junction points an accepted change inserted (``joins``),
    through the store, keeping whatever else changed on those ways since (the gate's town rules)."""
    for join in (payload or {}).get("joins") or []:
        if rev.element_type == ElementType.NODE:
            ref = rev.element_id
        elif isinstance(element, Way) and 0 <= join.get("vertex", -1) < len(element.nodes):
            ref = element.nodes[join["vertex"]]
        else:
            continue
        way = get_element(rev.town, ElementType.WAY, join["way"], lock=True)
        if way is None or not way.visible:
            raise Conflict(ElementType.WAY, join["way"], None, None)
        if not isinstance(way, Way) or ref not in way.nodes:
            continue  # already taken out (two joins of the same way)
        state = element_state(way)
        after: Payload = {
            "tags": state["tags"],
            "nodes": [n for n in state["nodes"] if n[0] != ref],
            "closed": state["closed"],
        }
        try:
            check_change(
                rev.town_id,
                Change(ElementType.WAY, Revision.Action.MODIFY, state, after, element_id=way.osm_id),
            )
        except Refused as exc:
            raise ReviewError(_("This change cannot be reverted: %(reason)s") % {"reason": exc}) from exc
        apply_change(
            town=rev.town,
            element_type=ElementType.WAY,
            element_id=way.osm_id,
            action=Revision.Action.MODIFY,
            after=after,
            base_version=way.version,
        )


@transaction.atomic
def revert_revision(revision: Revision, reviewer: User, reason: str = "") -> Revision:
    """Undo an accepted revision with a NEW revision (created and accepted now); history stays append-only.

    Preconditions: ``revision`` is accepted and is still the element's latest published change (its
    version is current); otherwise :class:`~mapping.store.Conflict` (revert the later change first).
    Reverting a creation deletes the feature; a modification restores the previous tags and shape
    (shared vertices included, so the other features using them move back too); a deletion is
    restored as a new feature (new local id: the store never reuses a deleted id). Raises
    :class:`ReviewError` when a later change moved one of the way's points, or when the state to
    restore breaks the town's rules (:mod:`mapping.gate`, without the party area).
    """
    _check_reviewer(revision, reviewer, own_allowed=True)
    rev = Revision.objects.select_for_update(of=("self",)).select_related("town").get(pk=revision.pk)
    if rev.status != Status.ACCEPTED:
        raise ReviewError(_("Only an accepted revision can be reverted."))
    if rev.decisions.filter(decision=Decision.REVERTED).exists():
        raise AlreadyReviewed(rev)
    applied = rev.decisions.filter(decision__in=ReviewDecision.APPLIED).order_by("-pk").first()
    town = rev.town
    element = get_element(town, rev.element_type, rev.element_id, lock=True)
    if element is None or applied is None or element.version != applied.version_after:
        raise Conflict(
            rev.element_type,
            rev.element_id,
            element.version if element else None,
            element_state(element) if element else None,
        )
    _check_points_unchanged_since(rev, applied, element)
    _restore_joined_ways(
        rev, applied.amended_after if applied.amended_after is not None else rev.after, element
    )
    base_version: int | None
    before: State | None
    element_id, base_version, before = rev.element_id, element.version, element_state(element)
    if rev.action == Revision.Action.CREATE:
        action, after = Revision.Action.DELETE, None
    elif rev.action == Revision.Action.MODIFY:
        action, after = (
            Revision.Action.MODIFY,
            _restore_payload(rev.element_type, town, _before_merge(rev, applied)),
        )
    else:
        action, after, before = (
            Revision.Action.CREATE,
            _restore_payload(rev.element_type, town, _before_merge(rev, applied)),
            None,
        )
        element_id, base_version = next_local_id(), None
    try:  # the town's rules, without the party area: a revert must be able to undo damage outside it
        check_change(town.pk, Change(rev.element_type, action, before, after, element_id=element_id))
    except Refused as exc:
        if any(i.code in ("unknown_node", "unknown_member") for i in exc.issues):
            message = _(
                "This change cannot be reverted: a point or member it would restore was deleted since."
            )
        else:
            message = _("This change cannot be reverted: %(reason)s") % {"reason": exc}
        raise ReviewError(message) from exc
    new = Revision.objects.create(
        town=town,
        party_id=rev.party_id,
        author=reviewer,
        element_type=rev.element_type,
        element_id=element_id,
        action=action,
        base_version=base_version,
        before=before,
        after=after,
        geom_before=payload_geometry(rev.element_type, before),
        geom_after=payload_geometry(rev.element_type, after),
        preset=rev.preset,
        reverts=rev,
    )
    result = apply_change(
        town=town,
        element_type=new.element_type,
        element_id=new.element_id,
        action=action,
        after=after,
        base_version=base_version,
    )
    text = reason.strip() or _("Revert of revision #%(id)s") % {"id": rev.pk}
    _decide(new, reviewer, Status.ACCEPTED, Decision.ACCEPTED, reason=text, version_after=result.version)
    ReviewDecision.objects.create(
        town=town, revision=rev, decision=Decision.REVERTED, reviewer=reviewer, reason=text, successor=new
    )
    return new


# --- Bulk decisions ----------------------------------------------------------------------------


@dataclass
class BulkResult:
    """Per-revision outcome of a bulk decision: never all-or-nothing."""

    decided: list[int] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)
    # Decided by re-applying the edit onto a version published after it (a clean per-key merge).
    merged: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "merged": self.merged,
            "conflicts": {str(k): v for k, v in self.conflicts.items()},
            "skipped": {str(k): v for k, v in self.skipped.items()},
        }


_BULK_COLUMNS = (
    "pk",
    "author_id",
    "element_type",
    "element_id",
    "action",
    "base_version",
    "before",
    "after",
)


def _locked_selection(town: Town, reviewer: User, result: BulkResult, **selection: Any) -> list[tuple]:
    """Lock the selected pending revisions (oldest first) and drop the reviewer's own edits."""
    if not is_agent_of(reviewer, town):
        raise NotAllowed(_("Only the town's agents review its edits."))
    rows = list(
        pending_selection(town, **selection)
        .select_for_update(of=("self",))
        .order_by("created_at", "pk")
        .values_list(*_BULK_COLUMNS)
    )
    mine = [r for r in rows if r[1] == reviewer.pk]
    for r in mine:
        result.skipped[r[0]] = _("Nobody reviews their own edits.")
    return [r for r in rows if r[1] != reviewer.pk]


def _log_bulk(
    town: Town,
    reviewer: User,
    decided: list[tuple[int, int | None]],
    status: str,
    decision: str,
    reason: str = "",
    reason_code: str = "",
) -> None:
    """One UPDATE of the revisions and one INSERT of their decision rows."""
    if not decided:
        return
    ids = [d[0] for d in decided]
    versions = [d[1] for d in decided]
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH v AS (SELECT * FROM unnest(%(ids)s::bigint[], %(versions)s::int[]) AS v(id, version)),
            upd AS (
              UPDATE mapping_revision r SET status = %(status)s, reviewer_id = %(reviewer)s,
                     reviewed_at = %(now)s, review_reason = %(shown)s
              FROM v WHERE r.id = v.id RETURNING r.id
            )
            INSERT INTO mapping_reviewdecision
              (town_id, revision_id, decision, reviewer_id, reason_code, reason, version_after, created_at)
            SELECT %(town)s, v.id, %(decision)s, %(reviewer)s, %(code)s, %(reason)s, v.version, %(now)s
            FROM v JOIN upd ON upd.id = v.id
            """,
            {
                "ids": ids,
                "versions": versions,
                "status": status,
                "decision": decision,
                "reviewer": reviewer.pk,
                "reason": reason.strip(),
                "shown": reason_text(reason_code, reason),
                "now": timezone.now(),
                "code": reason_code,
                "town": town.pk,
            },
        )


def bulk_accept(
    town: Town,
    reviewer: User,
    *,
    ids: Iterable[int] | None = None,
    author: int | None = None,
    party: Party | int | None = None,
) -> BulkResult:
    """Accept many pending revisions at once: a selection (``ids``), one contributor's, or a party's.

    Preconditions: ``reviewer`` is an agent of ``town`` (else :class:`NotAllowed`); runs in one
    transaction with the selected revision rows locked. Set-based where possible (see
    :func:`_bulk_apply`). Not all-or-nothing: a revision whose element changed meanwhile, or that the
    gate refuses (:func:`~review.bulk.refuse_at_gate`, set-wise), is reported in
    ``conflicts`` with its reason and stays pending; the reviewer's own edits are reported in ``skipped``.
    """
    result = BulkResult()
    party_id = party.pk if isinstance(party, Party) else party
    with transaction.atomic():
        rows = _locked_selection(town, reviewer, result, ids=ids, author=author, party=party_id)
        rows = refuse_at_gate(town, rows, result.conflicts)
        decided = apply_in_bulk(town, rows, result.conflicts)
        _log_bulk(town, reviewer, decided, Status.ACCEPTED, Decision.ACCEPTED)
        _merge_bulk_conflicts(town, reviewer, result)
    result.decided = sorted([d[0] for d in decided] + result.merged)
    return result


class _NotMerged(Exception):
    """Inside :func:`_merge_bulk_conflicts`: roll the savepoint back, the edit was not a merge case."""


def _merge_bulk_conflicts(town: Town, reviewer: User, result: BulkResult) -> None:
    """Re-apply, one by one, the edits the batch left out because a newer version was published.

    Each in its own savepoint, as :func:`accept_revision` would (the rows are already locked): a clean
    merge is accepted and moves to ``merged``; a real conflict stays in ``conflicts`` with what the
    agent has to choose on the revision page.
    """
    if not result.conflicts:
        return
    for rev in Revision.objects.filter(pk__in=list(result.conflicts), town=town).select_related("town"):
        try:
            with transaction.atomic():
                element, after, merged = _apply_onto_current(rev, rev.after, None)
                if not merged:  # applied as it was: the batch's reason was not a newer version
                    raise _NotMerged
                _decide(
                    rev,
                    reviewer,
                    Status.ACCEPTED,
                    Decision.ACCEPTED,
                    version_after=element.version,
                    **_merge_log(rev, after, merged),
                )
        except Conflict as exc:
            result.conflicts[rev.pk] = str(exc)
        except (_NotMerged, StoreError, KeyError, TypeError, ValueError):
            continue  # the batch's reason stands (and the savepoint undid anything applied)
        else:
            del result.conflicts[rev.pk]
            result.merged.append(rev.pk)
    result.merged.sort()


def bulk_reject(
    town: Town,
    reviewer: User,
    reason: str,
    *,
    reason_code: str = "",
    ids: Iterable[int] | None = None,
    author: int | None = None,
    party: Party | int | None = None,
) -> BulkResult:
    """Reject many pending revisions with one reason (required); same selection rules as bulk_accept."""
    _require_reason(reason, reason_code)
    result = BulkResult()
    party_id = party.pk if isinstance(party, Party) else party
    with transaction.atomic():
        rows = _locked_selection(town, reviewer, result, ids=ids, author=author, party=party_id)
        decided: list[tuple[int, int | None]] = [(r[0], None) for r in rows]
        _log_bulk(town, reviewer, decided, Status.REJECTED, Decision.REJECTED, reason, reason_code)
    result.decided = sorted(d[0] for d in decided)
    return result

"""The OSM-shaped store: nodes, ways, relations, and the Revision every change goes through.

Identity: every element is identified within its town by ``osm_id``. Imported elements keep their
OpenStreetMap id (positive) and the OSM version they were imported at (``base_version``); elements
created here get negative ids from one database sequence, which is exactly how OSM files and
osmChange write new objects. Way node lists and relation members refer to these ids, so an edit that
reuses an existing node keeps its OSM identity.

``geom`` is derived (kept in step by the services and the importer): nodes always carry their
location; ways are lines, or polygons when closed and an area by OSM's rules; multipolygon and
boundary relations are multipolygons. A geometry that could not be made valid is stored as NULL and
its ``geom_status`` says why: invalid geometry is never stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.geo import SRID
from mapping import payloads
from parties.models import Party, Town


class ElementType(models.TextChoices):
    """The element types with their labels (fields, forms, the API schema). The values are those of
    :class:`mapping.payloads.ElementType`, the enum of the modules that do not import the ORM."""

    NODE = payloads.ElementType.NODE.value, _("node")
    WAY = payloads.ElementType.WAY.value, _("way")
    RELATION = payloads.ElementType.RELATION.value, _("relation")


class GeomStatus(models.TextChoices):
    OK = "ok", _("valid")
    REPAIRED = "repaired", _("repaired")
    INVALID = "invalid", _("could not be repaired")
    INCOMPLETE = "incomplete", _("members missing from the extract")
    NONE = "none", _("no geometry")


class Element(models.Model):
    element_type: str  # set by each concrete model
    # No separate index on town: the unique (town, osm_id) index serves town lookups, and one
    # index fewer per row matters for bulk imports. No database foreign key either: PostgreSQL
    # checks one row at a time at commit (5 s for the 1.3 M nodes of a 1.5 M-object import, a
    # sixth of the time). The two writers take the town from a row they hold (``apply_change``
    # from the request's town, the importer from the town it locks), and deleting a town that
    # still has elements is refused by PROTECT (tests/mapping/test_store.py).
    town = models.ForeignKey(
        Town, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    osm_id = models.BigIntegerField(_("OSM id"), help_text=_("Negative for elements created here."))
    version = models.PositiveIntegerField(_("version"), default=1)
    base_version = models.PositiveIntegerField(
        _("OSM base version"),
        null=True,
        blank=True,
        help_text=_("The OSM version this element was imported at."),
    )
    tags = models.JSONField(_("tags"), default=dict, blank=True)
    # Database defaults too, so bulk imports can leave both columns out of COPY (mapping.opl).
    visible = models.BooleanField(
        _("visible"), default=True, db_default=True, help_text=_("False once deleted.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_default=Now())

    class Meta:
        abstract = True

    def __str__(self) -> str:
        name = self.tags.get("name") if isinstance(self.tags, dict) else None
        return f"{self.element_type} {self.osm_id}" + (f" ({name})" if name else "")

    @property
    def is_local(self) -> bool:
        return self.osm_id < 0


class Node(Element):
    element_type = ElementType.NODE
    # Spatial index on *tagged* nodes only (migration 0007, ``WHERE tags <> '{}'::jsonb``): the map,
    # tiles, prints and checks look for features, never for bare vertices, and indexing the ~95 % of
    # nodes that are way vertices cost a third of a bulk import. Queries that want features write
    # ``tags <> '{}'::jsonb`` so the planner uses it.
    geom = models.PointField(_("location"), srid=SRID, spatial_index=False)

    class Meta:
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        constraints = [models.UniqueConstraint(fields=["town", "osm_id"], name="node_unique_osm_id")]
        # No GIN index on node tags: it doubled the cost of bulk imports (most nodes are untagged
        # vertices), and tag queries on nodes always come with a bbox that the GiST index serves.


class Way(Element):
    element_type = ElementType.WAY
    nodes = ArrayField(models.BigIntegerField(), verbose_name=_("node ids"), default=list)
    geom = models.GeometryField(_("geometry"), srid=SRID, null=True, blank=True)
    geom_status = models.CharField(max_length=12, choices=GeomStatus.choices, default=GeomStatus.NONE)

    class Meta:
        verbose_name = _("way")
        verbose_name_plural = _("ways")
        constraints = [models.UniqueConstraint(fields=["town", "osm_id"], name="way_unique_osm_id")]
        indexes = [GinIndex(fields=["nodes"], name="way_nodes_gin")]


class Relation(Element):
    element_type = ElementType.RELATION
    # Ordered list of {"type": "node"|"way"|"relation", "ref": osm_id, "role": str}.
    members = models.JSONField(_("members"), default=list, blank=True)
    geom = models.GeometryField(_("geometry"), srid=SRID, null=True, blank=True)
    geom_status = models.CharField(max_length=12, choices=GeomStatus.choices, default=GeomStatus.NONE)

    class Meta:
        verbose_name = _("relation")
        verbose_name_plural = _("relations")
        constraints = [models.UniqueConstraint(fields=["town", "osm_id"], name="relation_unique_osm_id")]


ELEMENT_MODELS: dict[str, type[Element]] = {
    ElementType.NODE: Node,
    ElementType.WAY: Way,
    ElementType.RELATION: Relation,
}


class Revision(models.Model):
    """One proposed change to one feature; the published store changes only when it is accepted.

    ``before`` and ``after`` hold the feature's state as JSON (None for a creation's ``before`` and a
    deletion's ``after``)::

        {"tags": {"amenity": "bench"},
         "geometry": <GeoJSON geometry>,                  # for display and checks
         "nodes": [[osm_id | null, lon, lat], ...],       # ways: null = a new node
         "members": [{"type": .., "ref": .., "role": ..}]}  # relations

    Rows are append-only (a database trigger refuses DELETE and any UPDATE of the proposed change);
    only the review columns move, and each decision is also logged as its own row elsewhere.
    """

    class Action(models.TextChoices):
        """With labels; the values are those of :class:`mapping.payloads.Action`."""

        CREATE = payloads.Action.CREATE.value, _("create")
        MODIFY = payloads.Action.MODIFY.value, _("modify")
        DELETE = payloads.Action.DELETE.value, _("delete")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        NEEDS_CHANGES = "needs_changes", _("changes requested")
        WITHDRAWN = "withdrawn", _("withdrawn")

    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="revisions")
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="revisions"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="revisions")
    element_type = models.CharField(max_length=8, choices=ElementType.choices)
    element_id = models.BigIntegerField(_("element OSM id"))
    action = models.CharField(max_length=8, choices=Action.choices)
    base_version = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("The version the change started from.")
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    geom_before = models.GeometryField(srid=SRID, null=True, blank=True)
    geom_after = models.GeometryField(srid=SRID, null=True, blank=True)
    preset = models.CharField(max_length=100, blank=True)
    flags = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reverted_by"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Review columns: the only ones an UPDATE may change.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_revisions",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)

    # Not columns: what the pages that list revisions show beside them, set on the instances they
    # list and never saved (absent on any other instance). Declared so that mypy checks them.
    # The feature's name and kind, in the reader's language (mapping.history.describe):
    feature_name: str
    preset_name: str
    kind_name: str
    # An element's timeline (mapping.history.element_history):
    applied_decision: ReviewDecision | None
    diff: list[dict[str, Any]]
    published_after: dict[str, Any] | None
    decision_log: list[ReviewDecision]
    joined_here: bool  # the revision only inserted a junction point into this element
    # The review pages (review.views): flags, canned reason and outcome in the reader's language.
    localized_flags: list[dict[str, Any]]
    reason_label: str
    outcome: str

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="revision_unique_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["town", "element_type", "element_id"], name="revision_element_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.element_type} {self.element_id} ({self.status})"


class ReviewDecision(models.Model):
    """One review decision, logged for ever (append-only: a database trigger refuses UPDATE and DELETE).

    Every accept, reject, request for changes, fix-then-accept, revert and supersession is one row.
    ``amended_after`` holds the agent's payload when they fixed the change before accepting it (the
    revision keeps the resident's proposal; both are credited). ``version_after`` is the element's
    version once an accepted change was applied: the published timeline is read from these rows.
    """

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        FIXED = "fixed", _("fixed and accepted")
        REJECTED = "rejected", _("rejected")
        NEEDS_CHANGES = "needs_changes", _("changes requested")
        SUPERSEDED = "superseded", _("replaced by an amended version")
        REVERTED = "reverted", _("reverted")

    # Decisions that changed the published store.
    APPLIED = (Decision.ACCEPTED, Decision.FIXED)

    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    reason_code = models.CharField(_("reason"), max_length=32, blank=True)
    reason = models.TextField(_("comment"), blank=True)
    amended_after = models.JSONField(null=True, blank=True)
    geom_amended = models.GeometryField(srid=SRID, null=True, blank=True)
    version_after = models.PositiveIntegerField(null=True, blank=True)
    # The revision this one led to: the amended proposal (superseded) or the revert (reverted).
    successor = models.ForeignKey(Revision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        indexes = [models.Index(fields=["town", "decision", "created_at"], name="decision_town_idx")]

    def __str__(self) -> str:
        return f"{self.decision} #{self.revision_id} by {self.reviewer_id}"


class UpstreamConflict(models.Model):
    """A published element that OpenStreetMap changed too, found when a newer extract is imported.

    Open conflicts are held back from the osmChange until an agent chooses (mapping.upstream).
    ``base``/``local``/``upstream`` are states as ``{"tags": {...}, "shape": ...}`` (shape: [lon, lat]
    for nodes, node ids for ways, members for relations); ``keys`` lists the tag keys both sides
    changed differently.

    Its table keeps the name it had when the model lived in exports (moved with the upstream merge,
    state only: no data copied, nothing locked).
    """

    class Kind(models.TextChoices):
        EDITED = "edited", _("changed here and in OpenStreetMap")
        DELETED_UPSTREAM = "deleted_upstream", _("changed here, deleted in OpenStreetMap")
        DELETED_HERE = "deleted_here", _("deleted here, changed in OpenStreetMap")
        MAYBE_IN_OSM = "maybe_in_osm", _("maybe already in OpenStreetMap")

    class Status(models.TextChoices):
        OPEN = "open", _("needs a choice")
        KEPT_LOCAL = "kept_local", _("kept ours")
        TOOK_UPSTREAM = "took_upstream", _("took OpenStreetMap's")

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="upstream_conflicts")
    element_type = models.CharField(_("element type"), max_length=8)
    element_id = models.BigIntegerField(_("element id"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    base = models.JSONField(_("common base"), null=True, blank=True)
    local = models.JSONField(_("ours"), null=True, blank=True)
    upstream = models.JSONField(_("OpenStreetMap's"), null=True, blank=True)
    upstream_version = models.PositiveIntegerField(_("OpenStreetMap version"), null=True, blank=True)
    upstream_ref = models.CharField(_("similar OpenStreetMap element"), max_length=40, blank=True)
    keys = models.JSONField(_("conflicting keys"), default=list, blank=True)
    created_at = models.DateTimeField(_("found at"), auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    # Not a column: the merge page's table of tags by side, set on the conflicts it lists (exports.views).
    rows: list[dict[str, Any]]

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("upstream conflict")
        verbose_name_plural = _("upstream conflicts")
        db_table = "exports_upstreamconflict"
        indexes = [models.Index(fields=["town", "status"], name="upstream_conflict_open_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_type} {self.element_id} ({self.status})"


class Photo(models.Model):
    """A photo a resident attached to one of their edits, to show the agent what is there.

    Only re-encoded copies are kept (a thumbnail and a display size, EXIF gone but the orientation
    applied): never the uploaded file. Files live in ``default_storage`` under random names and are
    served by ``mapping.views.photo_file`` (the author and the town's agents; anyone once the edit is
    accepted and the resident chose an open licence). Never part of an OSM export.
    """

    class Licence(models.TextChoices):
        NONE = "", _("not published")
        CC_BY_SA = "CC-BY-SA-4.0", _("CC BY-SA 4.0")
        CC0 = "CC0-1.0", _("CC0 1.0")

    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="photos")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="photos")
    # The photo's own idempotency key: a replayed upload returns the photo stored the first time.
    key = models.CharField(_("idempotency key"), max_length=64)
    thumbnail = models.CharField(_("thumbnail file"), max_length=200)
    display = models.CharField(_("display file"), max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    licence = models.CharField(_("licence"), max_length=20, choices=Licence.choices, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        constraints = [models.UniqueConstraint(fields=["author", "key"], name="photo_unique_key")]

    def __str__(self) -> str:
        return f"photo {self.pk} of revision {self.revision_id}"

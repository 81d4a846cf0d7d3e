"""Accepting many revisions at once: the gate, set-wise, and then the store's bulk entry point.

Rows are ``(pk, author_id, element_type, element_id, action, base_version, before, after)`` of locked
pending revisions, oldest first (see :func:`review.services._locked_selection`). The store applies
them (:func:`mapping.store.bulk.apply_changes`, set-based where it can): review never writes the
published tables itself.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from mapping.gate import Change, check_changes
from mapping.models import Revision
from mapping.store.bulk import BulkChange, apply_changes
from parties.models import Town


def _run(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


PARTY_AREAS_SQL = """
SELECT ST_AsEWKB(p.area), array_agg(r.id) FROM mapping_revision r JOIN parties_party p ON p.id = r.party_id
WHERE r.id = ANY(%(ids)s::bigint[]) GROUP BY p.id
"""


def refuse_at_gate(town: Town, rows: list[tuple], refused: dict[int, str]) -> list[tuple]:
    """The rows that pass the gate (:mod:`mapping.gate`); the others go to ``refused`` with the reason.

    The same rules as one accept, checked set-wise: one query for the parties' areas, one for
    everything the changes refer to, however many rows. Elements created by the batch count as
    existing for the others (a relation of ways created the same evening).
    """
    if not rows:
        return rows
    areas: dict[int, GEOSGeometry] = {}
    for wkb, ids in _run(PARTY_AREAS_SQL, {"ids": [r[0] for r in rows]}):
        area = GEOSGeometry(memoryview(wkb))
        areas.update((pk, area) for pk in ids)
    changes = [Change(r[2], r[4], r[6], r[7], areas.get(r[0]), r[3]) for r in rows]
    created = [(r[2], r[3]) for r in rows if r[4] == Revision.Action.CREATE]
    passed = []
    for row, issues in zip(rows, check_changes(town.pk, changes, created=created), strict=True):
        if issues:
            refused[row[0]] = " ".join(dict.fromkeys(i.message for i in issues))
        else:
            passed.append(row)
    return passed


def apply_in_bulk(town: Town, rows: list[tuple], conflicts: dict[int, str]) -> list[tuple[int, int | None]]:
    """Apply the accepted rows through the store; returns ``(pk, version)`` of each one applied.

    A row the store cannot apply (its element changed meanwhile, a malformed payload) goes to
    ``conflicts`` with the reason and stays pending.
    """
    changes = [
        BulkChange(pk, etype, eid, action, base, before, after)
        for pk, _a, etype, eid, action, base, before, after in rows
    ]
    return apply_changes(town, changes, conflicts)

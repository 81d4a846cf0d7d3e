"""Review: agents decide what residents propose, and residents read what became of it.

It owns the decisions (accept, reject, request changes, fix then accept, amend, revert, the three-way
merge onto a newer version: ``review/services.py``), bulk accept and reject (``review/bulk.py``), the
queue with its filters and counts, the diffs a revision page draws and a resident's contributions
(``review/selectors.py``), the pages (``review/views.py``, ``review/templates/review/``, the page script
``review/static/review/js/review.js``) and the DRF API under ``/api/review/`` (``review/api.py``).
Everything it publishes goes through the gate (``mapping.gate``) and the store (``mapping.store``),
the one writer of published data. It may import ``mapping``, ``parties`` and ``core``; nothing below it
imports it (``exports`` neither).

Models stay in ``mapping``: ``Revision`` (every proposed change) and ``ReviewDecision`` (the
append-only decision log) are the history of the published map as much as review's work: the store's
history pages, the map as of a date, exports' change sets and the party map all read them, and the
append-only triggers of migration ``mapping/0003`` guard their tables. Moving them would need a
migration that renames tables under those triggers for no change in behaviour, so review uses them
from ``mapping.models``.
"""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = _("Review")

"""mapping owns the map data: the OSM-shaped store (nodes, ways, relations and their derived
geometry) and its one writer (``mapping.store``), the gate every publishing path passes, residents'
edits as append-only revisions, the import of OSM extracts and the upstream merge of newer ones
(``mapping.upstream``), history and the map as of a date, map-data tiles, quality checks, and the
party dashboard's counts. It imports parties and core; it tells exports of changes by signal
(``mapping.signals``). The models of proposals and decisions (``Revision``, ``ReviewDecision``) are
here, as the store's history; the decisions themselves, the queue, bulk and diffs are ``review``'s."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MappingConfig(AppConfig):
    name = "mapping"
    verbose_name = _("Map data")

    def ready(self) -> None:
        from mapping.feature_tiles import on_published_change
        from mapping.signals import published_change

        # The map-data tile cache forgets exactly the tiles an accepted change touched.
        published_change.connect(on_published_change, dispatch_uid="mapping-feature-tile-cache")

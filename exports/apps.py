"""exports owns what leaves the site: open-data downloads (OSM XML, PBF, GeoJSON) and the osmChange
for OpenStreetMap, raster tiles, printed maps and their editions, and the background jobs that
build them (``exports.jobs``, a registry per kind; ``exports.tasks``, the Celery task and worker
signal). It imports mapping, parties and core, never review; it listens to mapping's signals."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Exports and prints")

    def ready(self) -> None:
        # Only light modules here: every process (web, worker, each management command) runs this.
        # Job handlers are imported when a job runs (exports.jobs.HANDLER_MODULES).
        from exports.geodata import keep_system_geodata

        keep_system_geodata()  # before anything imports mapnik (exports.geodata says why)

        from exports.data_version import on_published_change
        from exports.printing import checks as _checks  # noqa: F401  (fonts, icons, tile cache)
        from exports.tiles import on_published_change as invalidate_tiles
        from mapping.signals import published_change, upstream_conflicts_changed

        published_change.connect(on_published_change, dispatch_uid="exports-data-version")
        published_change.connect(invalidate_tiles, dispatch_uid="exports-tile-cache")
        # Open conflicts are held back from the osmChange, so opening one changes the exports too.
        upstream_conflicts_changed.connect(on_published_change, dispatch_uid="exports-data-version-conflicts")

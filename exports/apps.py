from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Exports and prints")

    def ready(self) -> None:
        # Only light modules here: every process (web, worker, each management command) runs this.
        # Job handlers are imported when a job runs (exports.jobs.HANDLER_MODULES).
        from exports.data_version import on_published_change
        from exports.printing import checks as _checks  # noqa: F401  (fonts, icons, tile cache)
        from exports.tiles import on_published_change as invalidate_tiles
        from exports.upstream import reconcile_upstream
        from mapping.osm_import import UPSTREAM_HANDLERS
        from mapping.signals import published_change

        if reconcile_upstream not in UPSTREAM_HANDLERS:
            UPSTREAM_HANDLERS.append(reconcile_upstream)
        published_change.connect(on_published_change, dispatch_uid="exports-data-version")
        published_change.connect(invalidate_tiles, dispatch_uid="exports-tile-cache")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Exports and prints")

    def ready(self) -> None:
        from exports import handlers  # noqa: F401  (registers the export job handler)
        from exports.upstream import reconcile_upstream
        from mapping.osm_import import UPSTREAM_HANDLERS

        if reconcile_upstream not in UPSTREAM_HANDLERS:
            UPSTREAM_HANDLERS.append(reconcile_upstream)

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

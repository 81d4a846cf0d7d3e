"""System checks for printing and tiles: fonts, icons, a writable tile cache, the PostGIS plugin."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core import checks

from exports.printing import style


@checks.register()
def check_printing(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    missing_fonts = [path for path in style.FONT_FILES if not Path(path).exists()]
    if missing_fonts:
        errors.append(
            checks.Error(
                f"Fonts for the map style are missing: {', '.join(missing_fonts)}.",
                hint="Install fonts-noto-core and fonts-dejavu-core (scripts/bootstrap.sh).",
                id="cartoparty.E101",
            )
        )
    missing_icons = [name for name in style.ICON_NAMES if not (style.icon_dir() / f"{name}.svg").exists()]
    if missing_icons:
        errors.append(
            checks.Error(
                f"Map icons are missing: {', '.join(missing_icons)}.",
                hint="Run scripts/vendor_icons.sh.",
                id="cartoparty.E102",
            )
        )
    tile_dir = Path(settings.CARTOPARTY_TILE_DIR)
    parent = tile_dir if tile_dir.exists() else tile_dir.parent
    if not (parent.exists() and os.access(parent, os.W_OK)):
        errors.append(
            checks.Error(
                f"The tile cache {tile_dir} cannot be written.",
                hint="Set CARTOPARTY_TILE_DIR to a writable directory.",
                id="cartoparty.E103",
            )
        )
    try:
        import mapnik

        if "postgis" not in mapnik.DatasourceCache.plugin_names():
            errors.append(checks.Error("Mapnik has no postgis input plugin.", id="cartoparty.E104"))
    except ImportError:
        errors.append(checks.Error("Mapnik is not installed.", id="cartoparty.E104"))
    return errors

"""GeoDjango's GDAL and PROJ keep the system's data files when mapnik is imported.

The mapnik wheel, when imported, sets ``PROJ_LIB`` and ``GDAL_DATA`` to folders of its own if they
are unset (``mapnik.bootstrap_env``), for the PROJ and GDAL it bundles. The system's PROJ (the one
GeoDjango's GDAL uses) reads the same variable, and mapnik's ``share/proj`` holds no ``proj.db``: every
PROJ context made after that in the process failed, so a GeoDjango transform or spatial reference in
a new request thread, once a tile or a print had imported mapnik, raised "Cannot find proj.db" (a
500; it failed a browser test in CI). Setting the variables for both does not work either: mapnik's
PROJ cannot read the system's ``proj.db``. So the system's GDAL is told where its data is through its
own API, which takes precedence over the environment and leaves mapnik's copies alone.
"""

from __future__ import annotations

from ctypes import c_char_p
from pathlib import Path

# Where Debian and a source build put the system's data (a file that proves it is the right folder).
PROJ_FOLDERS = ("/usr/share/proj", "/usr/local/share/proj")
GDAL_FOLDERS = ("/usr/share/gdal", "/usr/local/share/gdal")


def _first(folders: tuple[str, ...], marker: str) -> str | None:
    return next((f for f in folders if (Path(f) / marker).is_file()), None)


def keep_system_geodata() -> None:
    """Point the system's GDAL at its own PROJ and GDAL data (``OSRSetPROJSearchPaths``,
    ``CPLSetConfigOption``): whatever mapnik's import puts in the environment later."""
    from django.contrib.gis.gdal.libgdal import lgdal

    if proj := _first(PROJ_FOLDERS, "proj.db"):
        paths = (c_char_p * 2)(proj.encode(), None)
        lgdal.OSRSetPROJSearchPaths(paths)
    if gdal := _first(GDAL_FOLDERS, "gdalvrt.xsd"):
        lgdal.CPLSetConfigOption(b"GDAL_DATA", gdal.encode())

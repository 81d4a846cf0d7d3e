"""GDAL and PROJ keep the system's data files when mapnik is imported.

The mapnik wheel, when imported, sets ``PROJ_LIB`` and ``GDAL_DATA`` to folders of its own if they
are unset (``mapnik.bootstrap_env``). Its ``share/proj`` holds no ``proj.db``, so every PROJ context
made after that in the process failed: a GeoDjango transform or spatial reference in a new request
thread, once a tile or a print had imported mapnik, raised "Cannot find proj.db" (a 500 to the user;
it made a browser test of connected geometry fail in CI). Set first to the system's folders (those
of the GDAL and PROJ GeoDjango loads), they are left alone by mapnik. Mapnik itself only draws in
the map's own projection here (the SQL transforms the data), so it needs neither.
"""

from __future__ import annotations

import os
from pathlib import Path

# Variable -> (a file that proves the folder is the right one, where Debian and a source build put it).
SYSTEM_DATA = {
    "PROJ_DATA": ("proj.db", ("/usr/share/proj", "/usr/local/share/proj")),
    "PROJ_LIB": ("proj.db", ("/usr/share/proj", "/usr/local/share/proj")),
    "GDAL_DATA": ("gdalvrt.xsd", ("/usr/share/gdal", "/usr/local/share/gdal")),
}


def keep_system_geodata() -> None:
    """Point the unset variables of :data:`SYSTEM_DATA` at the system's folders (a variable set by
    the environment is kept); run before anything imports mapnik."""
    for variable, (marker, folders) in SYSTEM_DATA.items():
        for folder in folders:
            if (Path(folder) / marker).is_file():
                os.environ.setdefault(variable, folder)
                break

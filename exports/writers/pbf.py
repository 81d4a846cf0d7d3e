"""``.osm.pbf``: libosmium's PBF encoder; the ODbL attribution goes into the header options."""

from __future__ import annotations

from exports.writers.osmium_file import OsmiumFileWriter


class PbfWriter(OsmiumFileWriter):
    extension = "osm.pbf"
    osmium_format = "pbf"
    media_type = "application/vnd.openstreetmap.data+pbf"

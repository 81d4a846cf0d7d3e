"""OSM XML 0.6 (``.osm``), written by libosmium, with the OSM API's attribution attributes.

libosmium writes ``<osm version="0.6" generator="...">``; the OSM API's own answers also carry
``copyright``, ``attribution`` and ``license`` on that element, so the file is written to a
temporary path and copied once with that one line replaced (a streaming copy, constant memory).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import quoteattr

from exports.writers.osmium_file import OsmiumFileWriter


def osm_root_tag(name: str, generator: str, copyright: str, attribution: str, license: str) -> bytes:
    return (
        f'<{name} version="0.6" generator={quoteattr(generator)} copyright={quoteattr(copyright)} '
        f"attribution={quoteattr(attribution)} license={quoteattr(license)}>\n"
    ).encode()


class OsmXmlWriter(OsmiumFileWriter):
    extension = "osm"
    osmium_format = "osm"
    media_type = "application/vnd.openstreetmap.data+xml"

    def _output_path(self) -> Path:
        return self.path.with_name(self.path.name + ".part.osm")

    def _end(self) -> None:
        self._finish()
        a = self.attribution
        root = osm_root_tag("osm", a.generator, a.copyright, a.attribution, a.license)
        part = self._output_path()
        with part.open("rb") as src, self.path.open("wb") as dst:
            dst.write(src.readline())  # <?xml ...?>
            src.readline()  # libosmium's <osm ...> line
            dst.write(root)
            shutil.copyfileobj(src, dst, 1 << 20)
        part.unlink()
        self.stats.bytes = self.path.stat().st_size

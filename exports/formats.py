"""The export formats: name -> writer class, media type, file extension, label."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # the stubs' name for a str or a lazy translation; a dev-only package
    from django_stubs_ext import StrOrPromise

from exports.writers.base import Attribution, Writer
from exports.writers.geojson import GeoJsonWriter
from exports.writers.osm_xml import OsmXmlWriter
from exports.writers.osmchange import OsmChangeWriter
from exports.writers.pbf import PbfWriter


@dataclass(frozen=True)
class Format:
    name: str
    writer: type[Writer]
    label: StrOrPromise

    @property
    def extension(self) -> str:
        return self.writer.extension

    @property
    def media_type(self) -> str:
        return self.writer.media_type


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("pbf", PbfWriter, _("OpenStreetMap PBF (for osmium, osm2pgsql, routing engines)")),
        Format("osm", OsmXmlWriter, _("OpenStreetMap XML 0.6 (for JOSM and most OSM tools)")),
        Format("osc", OsmChangeWriter, _("osmChange of the local changes (to upload to OpenStreetMap)")),
        Format("geojson", GeoJsonWriter, _("GeoJSON (for QGIS, web maps and spreadsheets)")),
    )
}


def generator() -> str:
    return f"Cartoparty {importlib.metadata.version('cartoparty')}"


def attribution_for(town: object) -> Attribution:
    """The attribution every file of ``town`` carries (the same ODbL notice for all towns today)."""
    return Attribution(generator=generator())

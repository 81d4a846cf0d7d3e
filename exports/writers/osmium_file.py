"""The pyosmium side of the OSM writers: OPL chunks in, libosmium's own encoder out.

Each chunk (many elements as OPL lines, produced by PostgreSQL) is parsed by libosmium from an
in-memory buffer (``osmium.io.FileBuffer``) and handed to a ``SimpleWriter`` by ``osmium.apply``.
Both are C++ objects, so the per-element work never enters Python: reading, encoding and
compression run at libosmium's speed, which is what ``osmium cat`` does too.
"""

from __future__ import annotations

from pathlib import Path

import osmium
import osmium.io

from exports.writers.base import Attribution, Writer, WriterError


def osmium_header(attribution: Attribution, *, pbf: bool = False) -> osmium.io.Header:
    """Header options; a PBF header keeps only its writing program, so the note goes in there."""
    header = osmium.io.Header()
    header.set("generator", f"{attribution.generator} ({attribution.note})" if pbf else attribution.generator)
    header.set("copyright", attribution.copyright)
    header.set("attribution", attribution.attribution)
    header.set("license", attribution.license)
    header.set("note", attribution.note)
    return header


class OsmiumFileWriter(Writer):
    """Writes an OSM file through pyosmium, chunk by chunk (format set by the subclass)."""

    osmium_format = ""

    def __init__(self, target: Path, attribution: Attribution | None = None) -> None:  # type: ignore[override]
        if not isinstance(target, Path):
            raise WriterError("OSM writers write to a file path")
        super().__init__(target, attribution)
        self._writer: osmium.SimpleWriter | None = None

    def _output_path(self) -> Path:
        return self.target  # type: ignore[return-value]

    def _start(self) -> None:
        self._writer = osmium.SimpleWriter(
            osmium.io.File(str(self._output_path()), self.osmium_format),
            header=osmium_header(self.attribution, pbf=self.extension == "osm.pbf"),
            overwrite=True,
        )

    def _write(self, kind: str, data: bytes) -> None:
        osmium.apply(osmium.io.FileBuffer(data, "opl"), self._writer)
        self.stats.counts[kind] += data.count(b"\n")

    def _end(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        self.stats.bytes = self.target.stat().st_size  # type: ignore[union-attr]

"""GeoJSON: features built by PostGIS, streamed into one FeatureCollection.

The collection carries the ODbL attribution as top-level ``attribution`` and ``license`` members
(foreign members, allowed by RFC 7946 section 6.1). Chunks are comma-separated features.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

from exports.writers.base import Writer


class GeoJsonWriter(Writer):
    extension = "geojson"
    media_type = "application/geo+json"

    _out: BinaryIO
    _owns = False
    _first = True

    def _start(self) -> None:
        if isinstance(self.target, Path):
            self._out = self.target.open("wb")
            self._owns = True
        else:
            self._out = self.target
        a = self.attribution
        head = {
            "type": "FeatureCollection",
            "generator": a.generator,
            "attribution": a.note,
            "copyright": a.attribution,
            "license": a.license,
        }
        self._emit(json.dumps(head, ensure_ascii=False)[:-1].encode() + b',"features":[\n')

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self.stats.bytes += len(data)

    def _write(self, kind: str, data: bytes) -> None:
        self._emit(data if self._first else b",\n" + data)
        self._first = False
        self.stats.counts[kind] += data.count(b"\n") + 1

    def _abort(self) -> None:
        if self._owns:
            self._out.close()
        super()._abort()

    def _end(self) -> None:
        self._emit(b"\n]}\n")
        if self._owns:
            self._out.close()

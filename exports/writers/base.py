"""The writer interface every export format implements.

A writer is opened on a target (a path, or a binary stream for the text formats), then fed
*chunks*: ``start()``, any number of ``write_chunk(kind, data)``, ``end()`` (or ``abort()`` after
an error). A chunk is many
elements already serialised by PostgreSQL (OPL lines for the OSM formats, comma-separated GeoJSON
features for GeoJSON), so Python never touches one element at a time: that is what keeps the
writers near osmium-tool's own speed (see docs/exports.md). Memory is bounded by one chunk.

OSM formats must receive nodes, then ways, then relations (pyosmium's "Writing Data" rule);
:class:`Writer` enforces that order here, once, for every OSM writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

ODBL_URL = "https://opendatacommons.org/licenses/odbl/1-0/"
COPYRIGHT_URL = "https://www.openstreetmap.org/copyright"
KIND_ORDER = {"node": 0, "way": 1, "relation": 2}


class WriterError(ValueError):
    """The writer was used out of order (a programming error, not a user error)."""


@dataclass(frozen=True)
class Attribution:
    """What every file says about where its data comes from and under which licence."""

    generator: str = "Cartoparty"
    copyright: str = "OpenStreetMap and contributors"
    attribution: str = COPYRIGHT_URL
    license: str = ODBL_URL
    note: str = "© OpenStreetMap contributors, ODbL 1.0. Data from OpenStreetMap and local mapping parties."


@dataclass
class Stats:
    """What was written (the service compares it with the database)."""

    counts: dict[str, int] = field(default_factory=lambda: {"node": 0, "way": 0, "relation": 0})
    bytes: int = 0


class Writer:
    """Base class: order checking and the shared lifecycle. Subclasses implement the ``_`` hooks."""

    extension = ""
    media_type = "application/octet-stream"

    def __init__(self, target: Path | BinaryIO, attribution: Attribution | None = None) -> None:
        self.target = target
        self.attribution = attribution or Attribution()
        self.stats = Stats()
        self._last_kind = -1
        self._started = self._ended = False

    def start(self) -> None:
        if self._started:
            raise WriterError("start() called twice")
        self._started = True
        self._start()

    def write_chunk(self, kind: str, data: bytes) -> None:
        """Write many serialised elements of one ``kind`` (node, way or relation)."""
        if not self._started or self._ended:
            raise WriterError("write_chunk() outside start()/end()")
        order = KIND_ORDER[kind]
        if order < self._last_kind:
            raise WriterError(f"{kind}s must come before what was already written (nodes, ways, relations)")
        self._last_kind = order
        if data:
            self._write(kind, data)

    def end(self) -> Stats:
        if not self._started or self._ended:
            raise WriterError("end() without start()")
        self._ended = True
        self._end()
        return self.stats

    def abort(self) -> None:
        """Give up after an error: release everything and leave no partial file behind."""
        if self._started and not self._ended:
            self._ended = True
            self._abort()

    def _abort(self) -> None:
        if isinstance(self.target, Path):
            self.target.unlink(missing_ok=True)

    def _start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _write(self, kind: str, data: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _end(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

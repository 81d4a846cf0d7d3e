"""The pyosmium side of the OSM writers: OPL chunks in, libosmium's own encoder out.

Each chunk (many elements as OPL lines, produced by PostgreSQL) is parsed by libosmium from an
in-memory buffer (``osmium.io.FileBuffer``) and handed to a ``SimpleWriter`` by ``osmium.apply``.
Both are C++ objects, so the per-element work never enters Python: reading, encoding and
compression run at libosmium's speed, which is what ``osmium cat`` does too.

Encoding runs in a thread of its own, fed through a one-chunk queue: while libosmium encodes
chunk n, the caller is waiting on PostgreSQL for chunk n+1 (psycopg releases the GIL while it
waits), so the database and the encoder work on two cores at once, and memory stays bounded.
"""

from __future__ import annotations

import contextlib
import queue
import threading
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

    def __init__(self, target: Path, attribution: Attribution | None = None) -> None:
        if not isinstance(target, Path):
            raise WriterError("OSM writers write to a file path")
        super().__init__(target, attribution)
        self.path = target  # the target, known to be a path
        self._writer: osmium.SimpleWriter | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _output_path(self) -> Path:
        return self.path

    def _start(self) -> None:
        self._writer = osmium.SimpleWriter(
            osmium.io.File(str(self._output_path()), self.osmium_format),
            header=osmium_header(self.attribution, pbf=self.extension == "osm.pbf"),
            overwrite=True,
        )
        self._thread = threading.Thread(target=self._encode, name="osmium-writer", daemon=True)
        self._thread.start()

    def _encode(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    osmium.apply(osmium.io.FileBuffer(data, "opl"), self._writer)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    def _write(self, kind: str, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)
        self.stats.counts[kind] += data.count(b"\n")

    def _finish(self) -> None:
        """Wait for the encoder, close the file; raise what the encoder raised."""
        assert self._writer is not None and self._thread is not None
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        self._writer = None
        if self._error is not None:
            raise self._error

    def _abort(self) -> None:
        # The error being handled is the caller's; the encoder's own adds nothing.
        with contextlib.suppress(Exception):
            self._finish()
        self._output_path().unlink(missing_ok=True)
        super()._abort()

    def _end(self) -> None:
        self._finish()
        self.stats.bytes = self.path.stat().st_size

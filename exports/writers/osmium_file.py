"""The pyosmium side of the OSM writers: OPL chunks in, libosmium's own encoder out.

Each chunk (many elements as OPL lines, produced by PostgreSQL) goes down a pipe to a child process
(:mod:`exports.writers.encoder`) where libosmium parses it and encodes the file, PBF blocks
compressed in a thread pool. The per-element work never enters Python: reading, encoding and
compression run at libosmium's speed, which is what ``osmium cat`` does too.

Pipe writes happen in a feeding thread, through a two-chunk queue: while the child encodes chunk n
and the thread hands it chunk n+1, the caller waits on PostgreSQL for chunk n+2 (psycopg and pipe
writes release the GIL), so the database and the encoder work on both cores at once, and memory
stays bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import osmium.io

from exports.writers import encoder
from exports.writers.base import Attribution, Writer, WriterError
from mapping.opl_children import OSMIUM_CHILD_ENV

# Threads of the child's compression pool: libosmium's default is the cores less two (one, here),
# which left the second core idle whenever PostgreSQL was not using it.
ENCODER_THREADS = max(2, os.cpu_count() or 1)
# The child starts without site (-S: no .pth files, no editable-install finders, a third of its
# start-up), with the folder that holds pyosmium on its path, as the import's readers do; -P: the
# script's folder (exports/writers) must not shadow the standard library.


def header_options(attribution: Attribution, *, pbf: bool = False) -> dict[str, str]:
    """Header options; a PBF header keeps only its writing program, so the note goes in there."""
    return {
        "generator": f"{attribution.generator} ({attribution.note})" if pbf else attribution.generator,
        "copyright": attribution.copyright,
        "attribution": attribution.attribution,
        "license": attribution.license,
        "note": attribution.note,
    }


def osmium_header(attribution: Attribution, *, pbf: bool = False) -> osmium.io.Header:
    """:func:`header_options` as a pyosmium header (for the writers that encode in-process)."""
    header = osmium.io.Header()
    for key, value in header_options(attribution, pbf=pbf).items():
        header.set(key, value)
    return header


class OsmiumFileWriter(Writer):
    """Writes an OSM file through the encoder child, chunk by chunk (format set by the subclass)."""

    osmium_format = ""

    def __init__(self, target: Path, attribution: Attribution | None = None) -> None:
        if not isinstance(target, Path):
            raise WriterError("OSM writers write to a file path")
        super().__init__(target, attribution)
        self.path = target  # the target, known to be a path
        self._child: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _output_path(self) -> Path:
        return self.path

    def _start(self) -> None:
        header = header_options(self.attribution, pbf=self.extension == "osm.pbf")
        self._child = subprocess.Popen(
            [sys.executable, "-S", "-P", encoder.__file__, self.osmium_format, str(self._output_path()),
             json.dumps(header), str(ENCODER_THREADS)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=OSMIUM_CHILD_ENV,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._feed, name="osmium-feeder", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        assert self._child is not None and self._child.stdin is not None
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._child.stdin.write(data)
                except OSError as exc:  # the child died: its stderr says why (see _finish)
                    self._error = exc

    def _write(self, kind: str, data: bytes) -> None:
        if self._error is not None:
            raise WriterError("the encoder stopped early") from self._error
        self._queue.put(data)
        self.stats.counts[kind] += data.count(b"\n")

    def _finish(self) -> None:
        """Wait for the feeder and the child, the file closed; raise if the child failed."""
        assert self._child is not None and self._thread is not None
        self._queue.put(None)
        self._thread.join()
        pipe_in, pipe_err = self._child.stdin, self._child.stderr
        assert pipe_in is not None and pipe_err is not None  # both opened as pipes in _start
        with contextlib.suppress(OSError):
            pipe_in.close()
        stderr = pipe_err.read().decode(errors="replace")
        pipe_err.close()
        code = self._child.wait()
        self._child = None
        if code or self._error is not None:
            raise WriterError(f"the OSM encoder failed (exit {code}): {stderr.strip()}")

    def _abort(self) -> None:
        # The error being handled is the caller's; the encoder's own adds nothing.
        if self._child is not None:
            self._child.kill()
            with contextlib.suppress(Exception):
                self._finish()
        self._output_path().unlink(missing_ok=True)
        super()._abort()

    def _end(self) -> None:
        self._finish()
        self.stats.bytes = self.path.stat().st_size

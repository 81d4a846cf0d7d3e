"""The child process that encodes OSM files: OPL on stdin, libosmium's PBF or XML encoder out.

    python encoder.py FORMAT OUTPUT HEADER_JSON THREADS   (OPL lines on stdin)

Why a child: ``osmium.apply`` holds the GIL for the whole of a chunk, so an encoder thread in the
exporting process stopped the thread that asks PostgreSQL for the next chunk, and the database and
the encoder took turns instead of working at once (docs/benchmarks.md, "Exports"). Here libosmium
runs in a process of its own: its reader thread reads the pipe, its parser thread turns OPL into
objects, the writer encodes blocks and compresses them in a pool of THREADS threads, and the
exporting process only moves bytes (a pipe write releases the GIL). Only pyosmium is imported, so
the child starts in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import sys


def encode(fmt: str, output: str, header: dict[str, str], threads: int) -> None:
    import osmium
    import osmium.io

    head = osmium.io.Header()
    for key, value in header.items():
        head.set(key, value)
    writer = osmium.SimpleWriter(
        osmium.io.File(output, fmt), header=head, overwrite=True, thread_pool=osmium.io.ThreadPool(threads)
    )
    try:
        osmium.apply(osmium.io.File("", "opl"), writer)  # "": libosmium reads stdin
    finally:
        writer.close()


if __name__ == "__main__":
    encode(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))

"""Starting the libosmium children of an import (:mod:`mapping.opl_reader`), early when it helps.

Why early: a town-sized import is timed against osm2pgsql, which loads the demo extract in about
0.6 s, and ``manage.py import_osm`` spends about 0.45 s of CPU setting Django up (GeoDjango's GDAL
library, psycopg, numpy for shapely: what remains after the lean set-up, docs/benchmarks.md). The
two children a first import reads (ways with their node locations, and nodes) need only the file,
so ``manage.py`` starts them before Django's set-up (:func:`start_early`, from config/startup.py):
they start and decode on the other core meanwhile, into pipes of 1 MiB, and :func:`take` hands
them to :func:`mapping.opl.stream_opl` when the import gets there.

Only ``.pbf`` files of at most 8 MiB are started early (:data:`EARLY_MAX_BYTES`: for larger ones
set-up is a few per cent of the import): an XML file is first checked for a DTD or entities
(:func:`mapping.osm_import._check_file`), and no parser may see it before. Children nobody takes
(a re-import reads the file once, in file order) are stopped at exit; until then they wait on their
full pipe, at no cost. This module imports nothing from Django: it runs before Django is set up.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# libosmium queues up to 20 buffers between its reader, decoder and writer threads; the importer
# takes OPL more slowly than libosmium writes it, so full queues were most of the child's memory
# (243 MiB for a 1.5 M-object file). Four each keep it near 100 MiB, 16 bytes a node of which is
# the location index.
# The child starts without site (-S: no .pth files, no editable-install finders), with the folder
# that holds pyosmium first on its path.
_OSMIUM_SPEC = importlib.util.find_spec("osmium")
_OSMIUM_DIR = str(Path(_OSMIUM_SPEC.origin).parent.parent) if _OSMIUM_SPEC and _OSMIUM_SPEC.origin else ""
# The same environment, without the queue sizes, for every pyosmium child (exports' encoder too).
OSMIUM_CHILD_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(p for p in (_OSMIUM_DIR, os.environ.get("PYTHONPATH", "")) if p),
}
CHILD_ENV = {
    **OSMIUM_CHILD_ENV,
    **{
        f"OSMIUM_MAX_{q}_QUEUE_SIZE": os.environ.get(f"OSMIUM_MAX_{q}_QUEUE_SIZE", "4")
        for q in ("INPUT", "OSMDATA", "OUTPUT")
    },
}
READER = Path(__file__).resolve().with_name("opl_reader.py")
EARLY_SUFFIXES = (".osm.pbf", ".pbf")
EARLY_OBJECTS = ("ways", "nodes")  # what a first import reads (mapping.osm_import._first_import_chunks)
EARLY_PIPE = 1 << 20  # what an unprivileged process may ask for (/proc/sys/fs/pipe-max-size)
# Only files small enough for the set-up to be a large share of the import (the demo extract is
# 0.6 MB: set-up ~0.5 s of ~1 s). For a town-sized file set-up is a few per cent, and the readers then
# run as they always did (two 20x runs on a busy machine were slower with early readers, within a
# noise too large to tell; nothing to gain there is worth that doubt).
EARLY_MAX_BYTES = 8 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux


@dataclass
class Child:
    """A running reader: its process and the file its error messages go to."""

    proc: subprocess.Popen[bytes]
    errors: IO[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.errors.close()


def spawn(path: Path, objects: str) -> Child:
    """Start a reader writing ``objects`` ("all", "ways" or "nodes") of ``path`` as OPL on its stdout."""
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (the Child owns it: closed by stop() or stream_opl)
    # -P: the script's folder must not shadow the standard library (mapping/selectors.py).
    args = [sys.executable, "-S", "-P", str(READER), str(path), objects]
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=CHILD_ENV)
    except BaseException:
        errors.close()
        raise
    return Child(proc, errors)


_early: dict[tuple[str, str], Child] = {}


def _key(path: Path | str, objects: str) -> tuple[str, str]:
    return str(Path(path).resolve()), objects


def start_early(path: str) -> bool:
    """Start the readers a first import of ``path`` will take, if it is a small ``.pbf`` file (see
    :data:`EARLY_MAX_BYTES`); True if so."""
    file = Path(path)
    if not file.name.lower().endswith(EARLY_SUFFIXES) or not file.is_file():
        return False
    if file.stat().st_size > EARLY_MAX_BYTES:
        return False
    for objects in EARLY_OBJECTS:
        child = spawn(file, objects)
        assert child.proc.stdout is not None
        with contextlib.suppress(OSError):  # not Linux, or a lower limit: the default pipe then
            fcntl.fcntl(child.proc.stdout, F_SETPIPE_SZ, EARLY_PIPE)
        _early[_key(file, objects)] = child
    return True


def take(path: Path, objects: str) -> Child | None:
    """The reader started early for ``objects`` of ``path``, if any (each is handed out once)."""
    return _early.pop(_key(path, objects), None)


@atexit.register
def stop_untaken() -> None:
    """Stop the readers nobody took (a re-import, or an import that failed before reading)."""
    while _early:
        _early.popitem()[1].stop()

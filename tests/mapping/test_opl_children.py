"""The import's libosmium readers started before Django's set-up (mapping.opl_children): taken
by the import they were started for, never for an XML file or another file, stopped if unused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from config.startup import start_import_readers
from mapping import opl, opl_children
from tests.conftest import CENTRE_PBF, DEMO_PBF

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_leftovers():
    yield
    opl_children.stop_untaken()


def lines(chunks) -> list[str]:
    return [line for chunk in chunks for line in chunk.splitlines()]


def test_readers_started_early_are_taken_by_the_import_of_that_file():
    assert start_import_readers(["manage.py", "import_osm", str(CENTRE_PBF), "--town", "centre", "-v", "2"])
    ways, nodes = (opl_children._early[opl_children._key(CENTRE_PBF, o)] for o in ("ways", "nodes"))
    early = {o: lines(opl.stream_opl(CENTRE_PBF, o)) for o in ("ways", "nodes")}
    assert not opl_children._early  # both taken, once
    assert ways.proc.returncode == 0 and nodes.proc.returncode == 0  # they ran to the end of the file
    # The same OPL as readers started when the import asks.
    assert early == {o: lines(opl.stream_opl(CENTRE_PBF, o)) for o in ("ways", "nodes")}
    assert early["nodes"][0].startswith("n") and early["ways"][0].startswith("w")


def test_another_file_an_xml_file_a_large_file_or_another_command_starts_nothing(tmp_path):
    xml = tmp_path / "town.osm"
    xml.write_text('<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "b">]><osm version="0.6"/>')
    assert not start_import_readers(["manage.py", "import_osm", str(xml), "--town", "t"])  # checked first
    assert not start_import_readers(
        ["manage.py", "import_osm", str(tmp_path / "missing.osm.pbf"), "--town", "t"]
    )
    assert not start_import_readers(["manage.py", "import_osm"])  # the command reports the missing file
    assert not start_import_readers(["manage.py", "export_osm", str(CENTRE_PBF)])
    large = tmp_path / "region.osm.pbf"
    with large.open("wb") as fh:
        fh.truncate(opl_children.EARLY_MAX_BYTES + 1)  # start-up is a small share of such an import
    assert not start_import_readers(["manage.py", "import_osm", str(large), "--town", "t"])
    assert not opl_children._early
    start_import_readers(["manage.py", "import_osm", "--town", "t", str(CENTRE_PBF)])
    assert opl_children.take(DEMO_PBF, "nodes") is None  # started for another file: not handed out
    assert opl_children.take(CENTRE_PBF, "all") is None  # a re-import reads the file once, in order


def test_arguments_the_early_start_cannot_read_print_nothing(capsys):
    """``import_osm --help`` (no file) is the command's to answer: no usage error from the early start."""
    assert not start_import_readers(["manage.py", "import_osm", "--help"])
    assert not start_import_readers(["manage.py", "import_osm", "--town"])
    assert capsys.readouterr() == ("", "")


def test_readers_nobody_takes_are_stopped_at_exit():
    """A re-import (or an import that fails early) leaves them: they end with the process."""
    probe = (
        "import json, sys; from config.startup import start_import_readers; from mapping import opl_children\n"
        f"start_import_readers(['manage.py', 'import_osm', {str(CENTRE_PBF)!r}, '--town', 'x'])\n"
        "print(json.dumps([c.proc.pid for c in opl_children._early.values()]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    pids = json.loads(out.stdout)
    assert len(pids) == 2
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
        )

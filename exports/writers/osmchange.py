"""osmChange (``.osc``): the accepted local changes against the imported OSM base.

The selector decides what changed and serialises each element as OPL with the values an upload
needs: created elements carry their negative id, modified and deleted ones the *base* version they
started from (what OSM's API checks), deleted ones ``visible=false``. The action follows from that
and is decided here, once: negative id = create, invisible = delete, otherwise modify.

libosmium's own change writer guesses the action from ``version == 1`` (a modified element whose
base version is 1 would come out as a creation), so each section is written by pyosmium as plain OSM
XML into its own temporary file and the three are spliced into one ``<osmChange>``. Deletions are
spliced relations, then ways, then nodes, so an API applying them in order never deletes a node a
way still uses. osmChange files hold only changes: they are small.
"""

from __future__ import annotations

from pathlib import Path

import osmium
import osmium.io

from exports.writers.base import Attribution, Writer, WriterError
from exports.writers.osm_xml import osm_root_tag
from exports.writers.osmium_file import osmium_header

SECTIONS = ("create", "modify", "delete")


def action_of(line: bytes) -> str:
    """The osmChange action of one OPL line (see the module docstring)."""
    if b" dD " in line:
        return "delete"
    return "create" if line[1:2] == b"-" else "modify"


class OsmChangeWriter(Writer):
    extension = "osc"
    media_type = "application/vnd.openstreetmap.osmchange+xml"

    def __init__(
        self, target: Path, attribution: Attribution | None = None, comment: str | None = None
    ) -> None:
        if not isinstance(target, Path):
            raise WriterError("OSM writers write to a file path")
        super().__init__(target, attribution)
        self.path = target  # the target, known to be a path
        self.comment = comment
        self.actions = {section: 0 for section in SECTIONS}
        self._parts: dict[tuple[str, str], tuple[Path, osmium.SimpleWriter]] = {}

    def _part(self, section: str, kind: str) -> osmium.SimpleWriter:
        key = (section, kind)
        if key not in self._parts:
            path = self.path.with_name(f"{self.path.name}.{section}-{kind}.part.osm")
            writer = osmium.SimpleWriter(str(path), header=osmium_header(self.attribution), overwrite=True)
            self._parts[key] = (path, writer)
        return self._parts[key][1]

    def _start(self) -> None:
        pass

    def _write(self, kind: str, data: bytes) -> None:
        grouped: dict[str, list[bytes]] = {}
        for line in data.splitlines(keepends=True):
            grouped.setdefault(action_of(line), []).append(line)
        for section, lines in grouped.items():
            osmium.apply(osmium.io.FileBuffer(b"".join(lines), "opl"), self._part(section, kind))
            self.actions[section] += len(lines)
            self.stats.counts[kind] += len(lines)

    def _abort(self) -> None:
        for path, writer in self._parts.values():
            writer.close()
            path.unlink(missing_ok=True)
        self._parts.clear()
        super()._abort()

    def _end(self) -> None:
        for _path, writer in self._parts.values():
            writer.close()
        a = self.attribution
        with self.path.open("wb") as out:
            out.write(b"<?xml version='1.0' encoding='UTF-8'?>\n")
            if self.comment:
                safe = self.comment.replace("--", "- -").rstrip("-")
                out.write(f"<!-- {safe} -->\n".encode())
            out.write(osm_root_tag("osmChange", a.generator, a.copyright, a.attribution, a.license))
            for section in SECTIONS:
                kinds = ("relation", "way", "node") if section == "delete" else ("node", "way", "relation")
                present = [k for k in kinds if (section, k) in self._parts]
                if not present:
                    continue
                out.write(f"  <{section}>\n".encode())
                for kind in present:
                    path = self._parts[(section, kind)][0]
                    with path.open("rb") as src:
                        src.readline()  # <?xml ...?>
                        src.readline()  # <osm ...>
                        for line in src:
                            if line.startswith(b"</osm>"):
                                break
                            out.write(b"  " + line)
                    path.unlink()
                out.write(f"  </{section}>\n".encode())
            out.write(b"</osmChange>\n")
        self._parts.clear()
        self.stats.bytes = self.path.stat().st_size

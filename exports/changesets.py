"""osmChange uploads: split into changesets, long ways split as iD does, changeset tags.

Called by :func:`exports.services.build_export` inside its read snapshot. osmChange files hold only
the changes, so they are read into memory here (to group them into changesets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q
from django.utils.translation import gettext as _

from exports.formats import attribution_for, generator
from exports.selectors import KINDS, Scope, opl_chunks_for_town
from exports.writers.osmchange import OsmChangeWriter
from mapping.models import Revision
from mapping.store import next_local_id
from parties.models import Party, Town, public_name

MAX_CHANGESET_CHANGES = 10_000  # OSM API limit per changeset
MAX_WAY_NODES = 2_000  # OSM API limit per way


@dataclass
class ChangeResult:
    """The changeset files written (first one first), the companion JSON, element counts."""

    paths: list[Path]
    counts: dict[str, int]
    changesets: list[dict] = field(default_factory=list)


_NEG_REF = re.compile(rb"[nwr](-\d+)")


@dataclass
class _Line:
    kind: str
    opl: bytes
    index: int

    @property
    def osm_id(self) -> int:
        return int(self.opl.split(b" ", 1)[0][1:])


def _fields(opl: bytes) -> dict[bytes, bytes]:
    return {f[:1]: f[1:] for f in opl.rstrip(b"\n").split(b" ")}


def _join(fields: dict[bytes, bytes], kind: str, osm_id: int) -> bytes:
    order = [b"v", b"d", b"c", b"t", b"i", b"u", b"T"]
    order += [b"x", b"y"] if kind == "node" else [b"N"] if kind == "way" else [b"M"]
    return f"{kind[0]}{osm_id}".encode() + b"".join(b" " + k + fields.get(k, b"") for k in order) + b"\n"


def split_long_ways(lines: list[_Line], town: Town) -> list[_Line]:
    """Split ways of more than 2,000 nodes as iD does before upload.

    A line is cut into consecutive pieces sharing their end nodes; the first piece keeps the way's
    id, the others are new ways (negative ids) with the same tags, added after it, with the same
    role, to the relations in this change that contain it. A closed area becomes a multipolygon
    relation carrying the tags, its pieces as ``outer`` members (iD's "split area").
    """
    out: list[_Line] = []
    extra_relations: list[_Line] = []
    replaced: dict[int, list[int]] = {}
    for line in lines:
        if line.kind != "way":
            out.append(line)
            continue
        fields = _fields(line.opl)
        refs = fields[b"N"].split(b",") if fields.get(b"N") else []
        if len(refs) <= MAX_WAY_NODES:
            out.append(line)
            continue
        step = MAX_WAY_NODES - 1
        pieces = [refs[i : i + MAX_WAY_NODES] for i in range(0, len(refs) - 1, step)]
        ids = [line.osm_id] + [next_local_id() for _ in pieces[1:]]
        closed = refs[0] == refs[-1]
        tags = fields.get(b"T", b"")
        for n, (piece, way_id) in enumerate(zip(pieces, ids, strict=True)):
            piece_fields = {**fields, b"N": b",".join(piece)}
            if n:
                piece_fields.update({b"v": b"1", b"d": b"V"})
            if closed:
                piece_fields[b"T"] = b""
            out.append(_Line("way", _join(piece_fields, "way", way_id), line.index))
        if closed:
            members = b",".join(b"w%d@outer" % i for i in ids)
            tag = tags + (b"," if tags else b"") + b"type=multipolygon"
            rel = {
                b"v": b"1",
                b"d": b"V",
                b"c": b"0",
                b"t": fields[b"t"],
                b"i": b"0",
                b"T": tag,
                b"M": members,
            }
            extra_relations.append(_Line("relation", _join(rel, "relation", next_local_id()), line.index))
        else:
            replaced[line.osm_id] = ids
    if replaced:
        for i, line in enumerate(out):
            if line.kind == "relation":
                out[i] = _Line("relation", _expand_members(line.opl, replaced), line.index)
    return out + extra_relations


def _expand_members(opl: bytes, replaced: dict[int, list[int]]) -> bytes:
    fields = _fields(opl)
    members: list[bytes] = []
    for member in fields.get(b"M", b"").split(b","):
        if not member:
            continue
        ref, _at, role = member.partition(b"@")
        if ref[:1] == b"w" and int(ref[1:]) in replaced:
            members.extend(b"w%d@%s" % (way_id, role) for way_id in replaced[int(ref[1:])])
        else:
            members.append(member)
    fields[b"M"] = b",".join(members)
    kind_id = opl.split(b" ", 1)[0]
    return _join(fields, "relation", int(kind_id[1:]))


def pack_changesets(lines: list[_Line], limit: int = MAX_CHANGESET_CHANGES) -> list[list[_Line]]:
    """Group changes into changesets of at most ``limit``, never separating a new element from
    what refers to it (negative ids only mean something within one upload)."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_new_id: dict[tuple[str, int], int] = {}
    for i, line in enumerate(lines):
        if line.osm_id < 0:
            by_new_id[(line.kind, line.osm_id)] = i
    kinds = {b"n": "node", b"w": "way", b"r": "relation"}
    for i, line in enumerate(lines):
        find(i)
        for match in _NEG_REF.finditer(line.opl.split(b" ", 1)[1]):
            ref_kind = kinds[match.group(0)[:1]]
            j = by_new_id.get((ref_kind, int(match.group(1))))
            if j is not None:
                parent[find(i)] = find(j)
    units: dict[int, list[_Line]] = {}
    for i, line in enumerate(lines):
        units.setdefault(find(i), []).append(line)
    changesets: list[list[_Line]] = []
    for unit in units.values():
        target = next((cs for cs in changesets if len(cs) + len(unit) <= limit), None)
        if target is None:
            changesets.append(list(unit))
        else:
            target.extend(unit)
    return changesets


def changeset_tags(town: Town, scope: Scope, contributors: list[str], count: int) -> dict[str, str]:
    """The tags an upload's changeset carries (comment, hashtags, source, created_by)."""
    party = Party.objects.filter(town=town, pk=scope.party_id).first() if scope.party_id else None
    hashtags = (
        [party.hashtag]
        if party and party.hashtag
        else sorted({p.hashtag for p in Party.objects.filter(town=town).exclude(hashtag="")})
    )
    hashtags = ["#" + h.lstrip("#") for h in hashtags]
    what = (party.title_en or party.title_fr) if party else town.name
    comment = f"{what}: {count} changes surveyed at Cartoparty mapping parties"
    if hashtags:
        comment += " " + " ".join(hashtags)
    tags = {"comment": comment, "source": "survey", "created_by": generator()}
    if hashtags:
        tags["hashtags"] = ";".join(hashtags)
    if contributors:
        # Credit the residents and agents whose accepted changes these are.
        tags["cartoparty:contributors"] = ";".join(contributors)[:255]
    return tags


def contributors_for(town: Town, scope: Scope) -> list[str]:
    """Display names of the authors of the accepted revisions in scope, alphabetically."""
    revisions = Revision.objects.filter(town=town, status=Revision.Status.ACCEPTED)
    if scope.party_id is not None:
        revisions = revisions.filter(party_id=scope.party_id)
    if scope.since is not None:  # as materialise_scope: review time, else submission time
        revisions = revisions.filter(
            Q(reviewed_at__gte=scope.since) | Q(reviewed_at__isnull=True, created_at__gte=scope.since)
        )
    names = {
        public_name(nickname, role)
        for nickname, role in revisions.values_list("author__nickname", "author__role").distinct()
    }
    return sorted(names, key=str.casefold)


def changeset_path(path: Path, n: int) -> Path:
    """Changeset 1 is ``path`` itself; the next ones are ``<stem>.2.osc``, ``<stem>.3.osc``..."""
    return path if n == 1 else path.with_name(f"{path.name.removesuffix('.osc')}.{n}.osc")


def build_osmchange(
    town: Town, path: Path, scope: Scope, progress: Callable[[int, str], None]
) -> ChangeResult:
    """Write the changes in scope as one or more changesets (see docs/exports.md)."""
    scoped = not scope.whole_town
    lines: list[_Line] = []
    for kind in KINDS:
        for _count, data in opl_chunks_for_town(town, kind, changes=True, scoped=scoped):
            for opl in data.splitlines(keepends=True):
                lines.append(_Line(kind, opl, len(lines)))
    progress(50, _("%(count)s changes read") % {"count": len(lines)})
    lines = split_long_ways(lines, town)
    contributors = contributors_for(town, scope)
    changesets = pack_changesets(lines, MAX_CHANGESET_CHANGES)
    if not changesets:
        changesets = [[]]
    counts = {k: 0 for k in KINDS}
    meta = []
    for n, cs in enumerate(changesets, start=1):
        target = changeset_path(path, n)
        tags = changeset_tags(town, scope, contributors, len(cs))
        comment = "changeset tags: " + json.dumps(tags, ensure_ascii=False)
        writer = OsmChangeWriter(target, attribution_for(town), comment=comment)
        writer.start()
        ordered = sorted(cs, key=lambda line: (KINDS.index(line.kind), line.index))
        for kind in KINDS:
            data = b"".join(line.opl for line in ordered if line.kind == kind)
            writer.write_chunk(kind, data)
        stats = writer.end()
        for kind in KINDS:
            counts[kind] += stats.counts[kind]
        meta.append({"file": target.name, "changes": len(cs), "actions": writer.actions, "tags": tags})
    companion = path.with_name(path.name.removesuffix(".osc") + ".changesets.json")
    companion.write_text(
        json.dumps({"changesets": meta, "contributors": contributors}, ensure_ascii=False, indent=2) + "\n"
    )
    return ChangeResult(
        paths=[changeset_path(path, n) for n in range(1, len(changesets) + 1)] + [companion],
        counts=counts,
        changesets=meta,
    )

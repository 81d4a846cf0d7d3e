"""Every page, as each kind of visitor sees it, is in the language asked for: no English string of the
catalogue is left in a French page, and no French one in an English page.

The pages come from the URL conf through the permission matrix (tests/security/matrix.py): every GET
rule, and every POST rule that answers with a page (forms shown again with their errors), is fetched
as an anonymous visitor, a resident and an agent, in a world with real content (a published café, a
pending bench with quality flags, an accepted change, a decision with a canned reason).

A catalogue string "left in English" is the English text of a msgid whose French translation
differs, found in the page's visible text (text, the attributes people read or hear, the JSON and
data-* attributes the scripts show). Short words are left out (a msgid counts when it has two words
or eight letters, and the part between placeholders counts likewise), and so is any English text
that is also part of some French translation (names like "OpenStreetMap").
"""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.contrib.gis.geos import Polygon
from django.core.cache import cache as django_cache
from django.db import transaction

from mapping import quality
from mapping.models import ReviewDecision
from review import services as review
from tests.factories import RevisionFactory
from tests.security.conftest import world  # noqa: F401 - the matrix's world of roles and objects
from tests.security.matrix import RULES
from tests.security.test_permission_matrix import _send, _url

LOCALE = Path(__file__).resolve().parent.parent / "locale"
ROLES = ("anon", "res", "agent")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label", "content"}


def _fragments(msgid: str) -> list[str]:
    """The literal parts of a msgid worth looking for (two words, or eight characters)."""
    parts = [p.strip(" \n:;,.·—–-()«»“”\"'") for p in PLACEHOLDER.split(msgid.replace("%%", "%"))]
    return [p for p in parts if len(p) >= 8 or (" " in p and len(p) >= 5)]


@cache
def catalogue() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(English fragment, msgid) pairs that must not appear in French pages, and (French fragment,
    msgid) pairs that must not appear in English pages."""
    entries = [e for e in polib.pofile(str(LOCALE / "fr/LC_MESSAGES/django.po")) if not e.obsolete]
    pairs = []
    for e in entries:
        pairs.append((e.msgid, e.msgstr or (e.msgstr_plural or {}).get(0, "")))
        if e.msgid_plural:
            pairs.append((e.msgid_plural, (e.msgstr_plural or {}).get(1, "")))
    french_text = "\n".join(fr for _en, fr in pairs)
    english_text = "\n".join(en for en, _fr in pairs)
    english, french = [], []
    for en, fr in pairs:
        if not fr or fr == en:
            continue
        english += [(f, en) for f in _fragments(en) if f not in french_text]
        french += [(f, en) for f in _fragments(fr) if f not in english_text]
    return english, french


class VisibleText(HTMLParser):
    """What a person reads or hears on the page: text outside script and style, the attributes read
    out (title, alt, aria-label...), data-* attributes and JSON data blocks (the scripts show them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self._json = tag == "script" and a.get("type") == "application/json"
            self._skip += 0 if self._json else 1
        for name, value in attrs:
            if value and (_read_out(tag, a, name) or (name.startswith("data-") and _is_prose(value))):
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            if self._json:
                self._json = False
            else:
                self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if self._json:
            self.chunks += _json_strings(data)
        elif not self._skip:
            self.chunks.append(data)


def _read_out(tag: str, attrs: dict, name: str) -> bool:
    """Attributes a person reads or hears; ``value`` only on buttons (elsewhere it is data or a code)."""
    if name == "value":
        return tag == "button" or (tag == "input" and attrs.get("type") in ("submit", "button"))
    return name in READ_ATTRIBUTES


def _is_prose(value: str) -> bool:
    """A data-* attribute holding a message for a script, not a URL, an id or a code."""
    return not value.startswith(("/", "http", "{", "[")) and (" " in value or value[:1].isupper())


def _json_strings(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    out: list[str] = []

    def walk(v) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return out


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.chunks).split())


def left_over(text: str, fragments: list[tuple[str, str]]) -> list[str]:
    return sorted(
        {msgid for fragment, msgid in fragments if re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text)}
    )


@pytest.fixture
def content(world):  # noqa: F811 - the matrix's fixture, imported above
    """Real content on every page: flags on the pending edit, an accepted change with a decision."""
    world.revision.flags = [
        quality.make_flag("outside_party_area"),
        quality.make_flag("long_value", key="name", length=300),
        quality.make_flag("unknown_key", key="amenty"),
    ]
    world.revision.save(update_fields=["flags"])
    for role, nickname in (("res", "Anna"), ("ores", "Bruno")):  # not "Resident 1": an English word
        world.users[role].nickname = nickname
        world.users[role].save(update_fields=["nickname"])
    # The café must lie in the party area for its accept to pass the gate (mapping.gate).
    x, y = world.node.geom.coords
    w, s, e, n = world.party.area.extent
    world.party.area = Polygon.from_bbox(
        (min(w, x - 1e-3), min(s, y - 1e-3), max(e, x + 1e-3), max(n, y + 1e-3))
    )
    world.party.area.srid = 4326
    world.party.save(update_fields=["area"])
    after = {
        "tags": {**world.node.tags, "name": "Café Amann", "amenity": "cafe"},
        "geometry": {"type": "Point", "coordinates": list(world.node.geom.coords)},
    }
    accepted = RevisionFactory.modify(world.node, after, party=world.party, author=world.users["res"])
    review.accept_revision(accepted, world.users["agent"])
    refused = RevisionFactory(party=world.party, author=world.users["res"])
    review.reject_revision(refused, world.users["agent"], "", reason_code="duplicate")
    assert ReviewDecision.objects.filter(revision=refused).exists()
    world.node.refresh_from_db()
    return world


def _pages(w):
    """(label, role, check, url) for every page of the matrix the role may see."""
    for name, checks in RULES.items():
        if name.startswith("admin:") or name in ("set_language", "logout"):
            continue  # Django's own admin and redirects: not ours to translate
        for check in checks:
            expected = check.expected()
            for role in ROLES:
                if expected[role] in (200, 400, 403, 404, 409, 410):
                    yield name, role, check, _url(name, w, check.kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_is_in_the_language_asked_for(content, lang):
    english, french = catalogue()
    fragments = english if lang == "fr" else french
    assert len(fragments) > 300  # the catalogue was read
    problems: dict[str, list[str]] = {}
    pages = 0
    for _name, role, check, url in _pages(content):
        django_cache.clear()
        client = content.client(role)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
        with transaction.atomic():
            response = _send(client, check, url)
            transaction.set_rollback(True)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        found = left_over(visible_text(response.content.decode()), fragments)
        if found:
            problems[f"{check.method} {url} as {role} ({response.status_code})"] = found
    assert pages > 40
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())


def test_visible_text_keeps_what_people_read_and_drops_code():
    html = (
        '<p title="Hello there">Text <b>here</b></p><script>var x = "Save changes";</script>'
        '<script type="application/json">{"a": ["Saved and sent"]}</script><style>.x{}</style>'
        '<input type="hidden" value="secret value"><div data-label="Moved point"></div>'
    )
    text = visible_text(html)
    assert "Hello there" in text and "Text here" in text and "Saved and sent" in text
    assert "Moved point" in text
    assert "Save changes" not in text and "secret value" not in text


def test_left_over_finds_whole_phrases_only():
    fragments = [("Street index", "Street index"), ("Contributors", "Contributors:")]
    assert left_over("INDEX · Street index ·", fragments) == ["Street index"]
    assert left_over("Contributorship", fragments) == []


@pytest.mark.django_db
def test_review_pages_name_features_presets_and_flags_in_the_readers_language(content):
    """The agent reads "Banc", "Café Amann" and "Hors de la zone", never ``amenity/bench`` or flag codes."""
    client = content.client("agent")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    queue = visible_text(client.get("/manage/review/?status=all").content.decode())
    revision = visible_text(client.get(f"/manage/review/{content.revision.pk}/").content.decode())
    for text in (queue, revision):
        assert "Banc" in text and "Hors de la zone" in text
        assert "amenity/bench" not in text and "outside_party_area" not in text and "long_value" not in text
    assert "Café Amann" in queue
    assert "Clé inconnue « amenty »" in revision  # the flag's message, in French


@pytest.mark.django_db
def test_a_residents_refused_edit_is_explained_in_french_without_coordinates(content):
    client = content.client("res")
    bowtie = [[None, 9.520, 47.140], [None, 9.521, 47.141], [None, 9.521, 47.140], [None, 9.520, 47.141]]
    body = {
        "element_type": "way",
        "action": "create",
        "after": {"tags": {"building": "yes"}, "nodes": bowtie, "closed": True},
    }
    response = client.post(
        _url("mapping-api:party-edits", content, {}),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    text = json.dumps(response.json(), ensure_ascii=False)
    assert "Le contour se croise" in text
    assert "Self-intersection" not in text and "47.14" not in text and "9.52" not in text

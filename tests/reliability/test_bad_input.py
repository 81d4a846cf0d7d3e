"""Bad input is refused with a 4xx and a message, never a 500, and nothing is half-saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from mapping.models import Node, Revision
from mapping.osm_import import ImportError_, import_osm
from parties.models import Town
from tests.factories import ResidentFactory

POINT = {"type": "Point", "coordinates": [9.5209, 47.1410]}


def _create(after) -> str:
    return json.dumps({"element_type": "node", "action": "create", "after": after})


BAD_EDITS = [
    ("malformed JSON", "{not json"),
    ("truncated JSON", '{"element_type": "node", "action": "cre'),
    ("not an object", "[1, 2, 3]"),
    ("JSON null", "null"),
    ("coordinates not numbers", _create({"tags": {"a": "b"}, "geometry": {"type": "Point", "coordinates": ["x", "y"]}})),
    ("huge coordinates", _create({"tags": {"a": "b"}, "geometry": {"type": "Point", "coordinates": [1e308, 1e308]}})),
    ("NaN coordinates", '{"element_type":"node","action":"create","after":{"tags":{"a":"b"},"geometry":{"type":"Point","coordinates":[NaN,Infinity]}}}'),
    ("boolean coordinates", _create({"tags": {"a": "b"}, "geometry": {"type": "Point", "coordinates": [True, False]}})),
    ("one coordinate", _create({"tags": {"a": "b"}, "geometry": {"type": "Point", "coordinates": [9.52]}})),
    ("payload not an object", _create([1, 2])),
    ("tags not pairs", _create({"tags": "x", "geometry": 5})),
    ("tag value not a string", _create({"tags": {"amenity": {"nested": 1}}, "geometry": POINT})),
    ("tag key too long", _create({"tags": {"k" * 256: "v"}, "geometry": POINT})),
    ("tag value too long", _create({"tags": {"name": "v" * 256}, "geometry": POINT})),
    ("control character", _create({"tags": {"name": "a\u0000b"}, "geometry": POINT})),
    ("empty key", _create({"tags": {"": "v"}, "geometry": POINT})),
    ("duplicate keys", _create({"tags": [["name", "a"], ["name", "b"]], "geometry": POINT})),
    ("way vertex not numbers", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"highway": "footway"}, "nodes": [[None, "a", 1]]}})),
    ("way nodes not a list", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"highway": "footway"}, "nodes": "abc"}})),
    ("way of one node", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"highway": "footway"}, "nodes": [[None, 9.52, 47.14]]}})),
    ("way of 2,001 nodes", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"highway": "footway"}, "nodes": [[None, 9.52 + i * 1e-6, 47.14] for i in range(2001)]}})),
    ("unclosed area", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"building": "yes"}, "closed": True, "nodes": [[None, 9.52, 47.14], [None, 9.521, 47.14]]}})),
    ("bow-tie area", json.dumps({"element_type": "way", "action": "create", "after": {"tags": {"building": "yes"}, "closed": True, "nodes": [[None, 9.520, 47.140], [None, 9.521, 47.141], [None, 9.521, 47.140], [None, 9.520, 47.141], [None, 9.520, 47.140]]}})),
    ("bad member", json.dumps({"element_type": "relation", "action": "create", "after": {"tags": {"type": "route"}, "members": [{"x": 1}]}})),
    ("unknown element type", json.dumps({"element_type": "area", "action": "create", "after": {}})),
    ("unknown action", json.dumps({"element_type": "node", "action": "explode"})),
    ("huge element id", json.dumps({"element_type": "node", "action": "modify", "element_id": 10**30, "base_version": 1, "after": {"tags": {"a": "b"}, "geometry": POINT}})),
    ("huge base version", json.dumps({"element_type": "node", "action": "modify", "element_id": 1, "base_version": 10**30, "after": {"tags": {"a": "b"}, "geometry": POINT}})),
    ("idempotency key too long", json.dumps({"element_type": "node", "action": "create", "idempotency_key": "k" * 500, "after": {"tags": {"a": "b"}, "geometry": POINT}})),
]  # fmt: skip


@pytest.fixture
def resident_client(centre_town):
    resident = ResidentFactory(party__town=centre_town)
    client = Client()
    client.force_login(resident)
    return client, resident.party


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b for _n, b in BAD_EDITS], ids=[n for n, _b in BAD_EDITS])
def test_bad_edit_is_a_4xx_with_a_message_and_saves_nothing(resident_client, body):
    client, party = resident_client
    nodes = Node.objects.count()
    response = client.post(f"/api/parties/{party.pk}/edits/", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.status_code != 413
    assert response.json(), "a refusal says why"
    assert not Revision.objects.filter(party=party).exists()
    assert Node.objects.count() == nodes


BAD_QUERIES = [
    "bbox=a,b,c,d",
    "bbox=1,2,3",
    "bbox=",
    "bbox=1e999,0,1,1",
    "bbox=NaN,NaN,NaN,NaN",
    "bbox=-200,-100,200,100",
    "bbox=9.6,47.2,9.5,47.1",  # west > east
    "bbox=9,47,9.1,47.1&zoom=99999999999999999999",
    "bbox=9,47,9.1,47.1&zoom=-1",
    "bbox=9,47,9.1,47.1&zoom=abc",
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_bbox_and_zoom_are_400(resident_client, query):
    client, party = resident_client
    for url in (f"/api/parties/{party.pk}/features/", "/api/towns/centre/features"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query, response.content)
        assert response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/towns/centre/as-of/notadate/features?bbox=9.52,47.14,9.53,47.15",
        "/api/towns/centre/as-of/99999-01-01/features?bbox=9.52,47.14,9.53,47.15",
        "/api/towns/centre/as-of/2020-13-45/features?bbox=9.52,47.14,9.53,47.15",
        "/towns/centre/as-of/?date=0000-00-00",
    ],
)
def test_bad_dates_are_400(client, centre_town, url):
    assert client.get(url).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/towns/centre/history/node/999999999999999999999999/",
        "/api/towns/centre/changes/?page=abc",
        "/api/towns/centre/changes/?page=99999999999999999999",
        "/api/towns/centre/exports/jobs/99999999999999999999/",
        "/towns/centre/data/jobs/99999999999999999999.json",
        "/towns/centre/data/../../etc/passwd",
        "/towns/centre/data/centre.exe",
        "/towns/nowhere/data/",
    ],
)
def test_odd_urls_are_404(client, centre_town, url):
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_body_over_the_limit_is_413_json(resident_client, settings):
    """The API answers 413 with a JSON reason before reading the body (Django alone says 400)."""
    client, party = resident_client
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"element_type": "node", "action": "create", "after": {"tags": {"note": "x" * 20_000}}})
    response = client.post(f"/api/parties/{party.pk}/edits/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["max_bytes"] == 10_000
    assert not Revision.objects.exists()
    # A form post (the sign-in page) too.
    response = client.post("/accounts/login/", {"username": "u", "password": "p" * 20_000})
    assert response.status_code == 413


@pytest.mark.django_db
def test_bad_content_length_is_400(client):
    response = client.post(
        "/api/towns/x/exports/jobs/", data="{}", content_type="application/json", CONTENT_LENGTH="abc"
    )
    assert response.status_code == 400


HOSTILE_XML = {
    "billion-laughs.osm": b"""<?xml version="1.0"?>
<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<osm version="0.6"><node id="1" version="1" lat="47.1" lon="9.5"><tag k="name" v="&d;"/></node></osm>""",
    "xxe.osm": b"""<?xml version="1.0"?>
<!DOCTYPE osm [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<osm version="0.6"><node id="1" version="1" lat="47.1" lon="9.5"><tag k="name" v="&xxe;"/></node></osm>""",
    # The DTD hidden behind 70 KB of comment, past the first-block check: the parser itself refuses.
    "padded-dtd.osm": b'<?xml version="1.0"?><!-- <osm '
    + b"x" * 70_000
    + b""" -->
<!DOCTYPE osm [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<osm version="0.6"><node id="1" version="1" lat="47.1" lon="9.5"><tag k="name" v="&xxe;"/></node></osm>""",
    "truncated.osm": b"""<?xml version="1.0"?><osm version="0.6"><node id="1" version="1" lat="47.1" lon="9.5"><tag k="na""",
    "not-xml.osm": b"\x00\xff\xfe garbage <osm",
    "wrong-root.osm": b"""<?xml version="1.0"?><html><body>hello</body></html>""",
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_or_broken_osm_xml_is_refused_and_nothing_changes(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HOSTILE_XML[name])
    with pytest.raises(ImportError_):
        import_osm(path, "hostile", "Hostile")
    assert not Town.objects.filter(slug="hostile").exists()
    assert not Node.objects.filter(tags__name__contains="root:").exists()


@pytest.mark.django_db
def test_no_input_cuts_text_silently(centre_town, client):
    """No maxlength anywhere (browsers cut at it without a word): data-max-length, which
    static/js/length-limit.js turns into a message, and the server's own validation."""
    from tests.factories import AgentFactory, PartyFactory

    party = PartyFactory(town=centre_town)
    pages = [f"/join/{party.join_code}/", "/accounts/login/"]
    agent = Client()
    agent.force_login(AgentFactory(town=centre_town))
    agent_pages = [
        "/manage/parties/new/",
        f"/manage/parties/{party.pk}/edit/",
        "/manage/prints/",
        "/manage/review/",
    ]
    for page_client, urls in ((client, pages), (agent, agent_pages)):
        for url in urls:
            html = page_client.get(url).content.decode()
            assert "maxlength" not in html, url
            assert "data-max-length" in html or url == "/manage/review/", url  # an empty queue: no form
    scripts = Path(__file__).resolve().parents[2] / "mapping/static/mapping/js"
    for script in [scripts / "party-map.js", *(scripts / "party-map").glob("*.js")]:
        assert "maxlength" not in script.read_text(), script


@pytest.mark.django_db
def test_too_long_nickname_is_refused_with_a_message(centre_town, client):
    from tests.factories import PartyFactory

    party = PartyFactory(town=centre_town)
    response = client.post(
        f"/join/{party.join_code}/", {"nickname": "n" * 41, "consent": "on"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    assert "au plus 40 caractères" in response.content.decode()
    assert not party.residents.exists()


@pytest.mark.django_db
def test_too_long_review_comment_is_refused_with_a_message(centre_town):
    from mapping.models import ReviewDecision
    from tests.factories import AgentFactory, RevisionFactory

    rev = RevisionFactory(party__town=centre_town)
    agent = Client()
    agent.force_login(AgentFactory(town=centre_town))
    response = agent.post(
        f"/manage/review/{rev.pk}/decide/",
        {"action": "reject", "comment": "c" * 2001},
        HTTP_ACCEPT_LANGUAGE="fr",
        follow=True,
    )
    assert (
        "Le commentaire est trop long : au plus 2000 caractères (il en a 2001)." in response.content.decode()
    )
    rev.refresh_from_db()
    assert rev.status == Revision.Status.PENDING
    assert not ReviewDecision.objects.filter(revision=rev).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"element_type": "node", "action": "create", "preset": "\\ud800"}', "NUL character or an invalid"),
        (
            '{"element_type": "node", "action": "create", "preset": "a\\u0000b"}',
            "NUL character or an invalid",
        ),
        ('{"element_type": "node", "action": "create", "element_id": 1e400}', "too large"),
        (
            '{"element_type": "node", "action": "create", "after": ' + "[" * 40 + "]" * 40 + "}",
            "nested too deeply",
        ),
    ],
    ids=["100,000 levels", "lone surrogate", "NUL", "1e400", "40 levels"],
)
def test_json_the_database_cannot_hold_is_400(resident_client, body, message):
    client, party = resident_client
    response = client.post(f"/api/parties/{party.pk}/edits/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Revision.objects.filter(party=party).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/towns/centre%00/", {}),
        ("/towns/centre/as-of/?date=2020-01-01%0A", {}),
        ("/api/schema/?version=a%0Ab", {}),
        ("/towns/centre/", {"Referer": "x\x00"}),
    ],
    ids=["NUL in the path", "newline in the query", "newline reaching a header", "NUL in a header"],
)
def test_control_characters_are_400_with_a_message(client, centre_town, url, headers):
    response = client.get(url, headers={**headers, "Accept-Language": "fr"})
    assert response.status_code == 400
    json_answer = "json" in response["Content-Type"]
    text = response.json()["detail"] if json_answer else response.content.decode()
    assert "caractère" in text  # the reason, in French


@pytest.mark.django_db
def test_review_api_page_far_past_the_end_is_empty(centre_town):
    from tests.factories import AgentFactory

    agent = Client()
    agent.force_login(AgentFactory(town=centre_town))
    response = agent.get("/api/review/revisions/?page=" + "9" * 40)
    assert response.status_code == 200
    assert response.json()["results"] == []

"""The Python area/category rules agree with their SQL twins."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from mapping.geometry import category, is_area

CASES = [
    {"building": "yes"},
    {"highway": "residential"},
    {"highway": "footway"},
    {"highway": "pedestrian", "area": "yes"},
    {"natural": "water"},
    {"natural": "tree_row"},
    {"waterway": "river"},
    {"landuse": "meadow"},
    {"amenity": "bench"},
    {"leisure": "park"},
    {"barrier": "fence"},
    {"building": "yes", "area": "no"},
    {"boundary": "administrative"},
    {"man_made": "pipeline"},
    {},
]


@pytest.mark.django_db
@pytest.mark.parametrize("tags", CASES, ids=[json.dumps(c) for c in CASES])
def test_python_and_sql_rules_agree(tags):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT cartoparty_is_area(%s::jsonb), cartoparty_category(%s::jsonb)",
            [json.dumps(tags)] * 2,
        )
        sql_area, sql_category = cur.fetchone()
    assert (is_area(tags), category(tags)) == (sql_area, sql_category)


def test_area_rules():
    assert is_area({"building": "yes"})
    assert not is_area({"highway": "residential"})
    assert not is_area({"building": "yes", "area": "no"})
    assert category({"amenity": "bench"}) == "poi"

"""The API's JSON parser: only JSON that the services and PostgreSQL can hold gets past it.

DRF's stock parser lets through what later fails deep inside a view, as a 500: a body nested deeper
than Python's recursion limit (RecursionError is not a ValueError), numbers too large for a float
(``1e400`` parses as infinity, which JSONB refuses), and strings with a NUL or a lone UTF-16
surrogate (``"\\u0000"``, ``"\\ud800"``: valid JSON escapes, but PostgreSQL text and JSONB cannot
store the first and UTF-8 cannot encode the second). Each is refused here with a 400 and a reason.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No API payload comes near this (a multipolygon's coordinates are 5 deep inside an edit).
MAX_DEPTH = 32
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class StrictJSONParser(JSONParser):
    def parse(
        self, stream, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            if _nests_deeper(text, MAX_DEPTH):
                raise ParseError(too_deep())
            data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except ValueError as exc:  # also UnicodeDecodeError and numbers with too many digits
            raise ParseError(
                _("The request body is not valid JSON (%(reason)s).") % {"reason": exc}
            ) from None
        check_storable(data)
        return data


# A JSON string (skipped whole, brackets inside it do not nest) or a bracket.
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nests_deeper(text: str, limit: int) -> bool:
    """Whether the text opens more than ``limit`` brackets at once, found before parsing.

    Letting ``json.loads`` find it costs a RecursionError deep in the C scanner, and a garbage
    collection that runs at that depth finalises GEOS objects whose ctypes calls then fail as
    unraisable errors (seen in the hostile-input test). Bodies with few brackets skip the scan.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _NESTING.finditer(text):
        char = token.group()
        if char in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif char in ("]", "}"):
            depth -= 1
    return False


def _refuse_constant(name: str) -> float:
    raise ValueError(_("%(name)s is not a number JSON allows") % {"name": name})


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(_("the number %(number)s is too large") % {"number": text[:40]})
    return value


def too_deep() -> str:
    return _("The JSON is nested too deeply (at most %(depth)s levels).") % {"depth": MAX_DEPTH}


def check_storable(data: Any) -> None:
    """ParseError if ``data`` nests deeper than MAX_DEPTH or has a string (key or value) with a NUL
    or a lone surrogate. Iterative: a check must not be the thing that overflows the stack."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                raise ParseError(_("The request contains a NUL character or an invalid Unicode character."))
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(too_deep())
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))

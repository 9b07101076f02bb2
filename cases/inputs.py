"""Request bodies are checked at the edge, before a service sees them.

`StrictJSONParser` refuses what JSON can say but no column can hold: numbers beyond a 64-bit
integer, 1e309 (infinite as a float), NaN and Infinity, and nesting deep enough to exhaust the
parser (a RecursionError, which would otherwise be a 500). A body that is not JSON is refused
naming the line and column where it breaks and what is wrong there, in the user's language
(json's own message is English). `MultiPartFormParser` refuses a multipart body it cannot read
in the user's language too. Views name these two, never DRF's JSONParser or MultiPartParser.

`validated()` runs a view's input serializer, so a service receives typed values: the text
"false" is False, a note sent as an object is refused. `ScoreNumber` lets a score through as
the user typed it ("7,5" included) for the scoring rules to read and word their own refusal.
"""

from __future__ import annotations

import codecs
import json
import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request

BIGINT = 2**63


def row_id(raw: object) -> int | None:
    """The id of a row as a user sent it: a whole number as JSON writes it, or its ASCII
    digits as a form posts them, within a 64-bit key; None for anything else (a text, a
    list, true, "²", which `str.isdigit` would let through to `int`)."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < BIGINT:
        return None
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(_("%(value)s is not a number JSON allows.") % {"value": name})


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_("The number %(value)s is too large.") % {"value": text[:20]})
    return value


def _int(text: str) -> int:
    value = int(text)
    if not -BIGINT <= value < BIGINT:
        raise ValueError(_("The number %(value)s… is too large.") % {"value": text[:20]})
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=_refuse_constant,
                parse_float=_float,
                parse_int=_int,
            )
        except RecursionError:
            raise ParseError(_("The JSON sent is nested too deeply.")) from None
        except json.JSONDecodeError as exc:
            raise ParseError(_json_error(exc)) from None
        except UnicodeDecodeError:
            raise ParseError(
                _("The data sent is not text encoded in %(encoding)s.") % {"encoding": encoding}
            ) from None
        except ValueError as exc:  # the refusals above, already in the user's language
            raise ParseError(
                _("The data sent is not valid JSON: %(error)s") % {"error": exc}
            ) from None


class MultiPartFormParser(MultiPartParser):
    """DRF's multipart parser, refusing a body it cannot read in the user's language (DRF's
    refusal is English, with Django's reason)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError:
            raise ParseError(
                _(
                    "The form data sent cannot be read: it is not well-formed "
                    "multipart/form-data (a file is sent with its boundary in the Content-Type)."
                )
            ) from None


# What json's parser says is wrong (`JSONDecodeError.msg`, in English), in the user's words.
JSON_PROBLEMS = {
    "Expecting value": gettext_lazy("a value is missing"),
    "Expecting ',' delimiter": gettext_lazy("a comma is missing"),
    "Expecting ':' delimiter": gettext_lazy("a colon is missing"),
    "Expecting property name enclosed in double quotes": gettext_lazy(
        "a name in double quotes is expected, or a comma is left before a closing brace"
    ),
    "Unterminated string starting at": gettext_lazy("a text has no closing double quote"),
    "Invalid control character at": gettext_lazy(
        "a text holds a control character, such as a line break"
    ),
    "Invalid \\escape": gettext_lazy("a backslash starts an escape that JSON does not know"),
    "Invalid \\uXXXX escape": gettext_lazy(
        "a Unicode escape is not followed by four hexadecimal digits"
    ),
    "Extra data": gettext_lazy("something follows the end of the JSON"),
}


def _json_error(exc: json.JSONDecodeError) -> str:
    """Where the JSON breaks and, when json's parser says it in words we know, why."""
    where = {"line": exc.lineno, "column": exc.colno}
    problem = JSON_PROBLEMS.get(exc.msg)
    if problem is None:
        return _("The data sent is not valid JSON (line %(line)s, column %(column)s).") % where
    message = _("The data sent is not valid JSON: %(problem)s (line %(line)s, column %(column)s).")
    return message % {"problem": problem, **where}


def validated(request: Request, serializer: Any) -> dict[str, Any]:
    """The request body checked by `serializer` (a class or the instance given to the schema):
    only the fields it declares, typed; a 400 in the error format otherwise."""
    checker = type(serializer) if isinstance(serializer, serializers.BaseSerializer) else serializer
    instance = checker(data=request.data)
    instance.is_valid(raise_exception=True)
    return dict(instance.validated_data)


@extend_schema_field(OpenApiTypes.NUMBER)
class ScoreNumber(serializers.Field[Any, Any, Any, Any]):
    """A number, or a text holding one as a user types it; never a list or an object.

    The scoring rules read it and word the refusal of anything else with the criterion's code.
    """

    default_error_messages = {"invalid": gettext_lazy("A number is required.")}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def text(**kwargs: Any) -> serializers.CharField:
    """An optional text: a string (or a number written as one), never an object or a list."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    kwargs.setdefault("allow_null", True)
    return serializers.CharField(**kwargs)

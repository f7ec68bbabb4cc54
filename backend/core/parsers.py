"""JSON request bodies, bounded: a size (ANXIN["MAX_JSON_BYTES"]) checked before the body is
read, and a nesting depth checked before any view sees the data. Anything else is DRF's
JSONParser."""

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # the deepest real body is a MultiPolygon: 5 levels


class PayloadTooLarge(APIException):
    """413 (an APIException, not a DomainError: DRF loads parsers while errors.py loads DRF)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.ANXIN["MAX_JSON_BYTES"]
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(_("The body is larger than %(limit)s bytes.") % {"limit": limit})
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(_("The body is larger than %(limit)s bytes.") % {"limit": limit})
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding)) if raw else {}
        except RecursionError:
            raise ParseError(_("JSON parse error: nested too deeply.")) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from None
        if _too_deep(data, MAX_DEPTH):
            raise ParseError(
                _("JSON parse error: nested deeper than %(levels)s levels.") % {"levels": MAX_DEPTH}
            )
        return data

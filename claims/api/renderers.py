"""The API's JSON renderer: DRF's JSONRenderer's bytes, written by orjson.

DRF's renderer runs json.dumps with its own encoder class, in Python: on a page of 50 claims it costs about as
much as the page's query. orjson writes the same bytes several times faster: compact separators, UTF-8 as it
is (no \\u escapes but for control characters, which both write alike), keys in the order given. What it
would write differently is left to DRF:

- times, dates and dataclasses pass through to DRF's encoder (`default`), which writes them as DRF does
  ("Z" for UTC; a time's microseconds cut to milliseconds) where orjson has its own forms;
- U+2028 and U+2029 are escaped after, as DRF escapes them (JSON that is also valid JavaScript);
- an `indent` asked for in the media type (`application/json; indent=2`) or by the browsable API, a value
  orjson refuses (an integer beyond 64 bits, a key that is not a string, an unknown type), or settings
  that ask for ASCII or spaced separators: DRF's own renderer writes it, unchanged.

Floats: orjson writes the shortest form that reads back the same, which differs from Python's for some
exponents (1e-07 against 1e-7). No API answer holds one (tests/test_api_renderer.py checks that the
OpenAPI document has no number that is not an integer).
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class JSONRenderer(renderers.JSONRenderer):
    """application/json, as DRF's JSONRenderer writes it (see the module)."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        plain = self.compact and not self.ensure_ascii
        if plain and self.get_indent(accepted_media_type, renderer_context or {}) is None:
            body = _orjson_or_none(data)
            if body is not None:
                return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        # An indent, or a value orjson refuses: DRF's renderer writes it (or raises its own error).
        return super().render(data, accepted_media_type, renderer_context)


def _orjson_or_none(data: Any) -> bytes | None:
    """The data as orjson writes it, or None for a value it refuses (DRF's renderer then writes it)."""
    try:
        return orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return None

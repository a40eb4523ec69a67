"""Refuse requests that PostgreSQL cannot store or compare, before any view sees them."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

# Bodies larger than this are left to the view (the app takes no uploads).
_BODY_CHECK_LIMIT = 2 * 1024 * 1024


def _is_unsafe(raw: bytes) -> bool:
    """True for a NUL byte or bytes that are not valid UTF-8 (a lone surrogate encodes as such)."""
    if b"\x00" in raw:
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _has_unsafe_string(value: object) -> bool:
    """True when a decoded JSON value holds a string with NUL or a lone surrogate (from \\u escapes)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_unsafe_string(k) or _has_unsafe_string(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unsafe_string(v) for v in value)
    return False


def _raw_path(request: HttpRequest) -> bytes:
    # Django has decoded the path already and percent-encoded again any bytes that were not UTF-8
    # (a lone surrogate arrives as %ED%A0%80), so unquoting its UTF-8 form gives back the raw bytes.
    return unquote_to_bytes(request.path_info.encode("utf-8", "surrogatepass"))


class RejectUnsafeCharactersMiddleware:
    """A NUL byte or a lone surrogate in the path, the query string or a form/JSON body is a 400.

    PostgreSQL refuses NUL in text and cannot encode a lone surrogate, and DRF does not check query
    parameters for either, so without this a filter value with %00 would be a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = unquote_to_bytes(request.META.get("QUERY_STRING", "").replace("+", " "))
        if _is_unsafe(_raw_path(request)) or _is_unsafe(query):
            return HttpResponseBadRequest("The request contains a NUL byte or invalid UTF-8.")
        content_type = request.META.get("CONTENT_TYPE", "")
        length = request.META.get("CONTENT_LENGTH") or "0"
        if (
            request.method in ("POST", "PUT", "PATCH")
            and length.isdigit()
            and 0 < int(length) <= _BODY_CHECK_LIMIT
            and not content_type.startswith("multipart/")
        ):
            body = request.body
            if _is_unsafe(body) or (
                content_type.startswith("application/x-www-form-urlencoded")
                and _is_unsafe(unquote_to_bytes(body.replace(b"+", b" ")))
            ):
                return HttpResponseBadRequest("The request body contains a NUL byte or invalid UTF-8.")
            if "json" in content_type and b"\\u" in body:
                try:
                    unsafe = _has_unsafe_string(json.loads(body))
                except ValueError:
                    unsafe = False  # malformed JSON: the view answers 400 itself
                if unsafe:
                    return HttpResponseBadRequest(
                        "The request body contains a NUL character or a lone surrogate."
                    )
        return self.get_response(request)

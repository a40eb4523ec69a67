"""Refuse requests that PostgreSQL cannot store or compare, before any view sees them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

# Bodies larger than this are left to the view (file uploads are not part of the app).
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


class RejectUnsafeCharactersMiddleware:
    """A NUL byte or a lone surrogate in the path, the query string or a form/JSON body is a 400.

    PostgreSQL refuses NUL in text ("A string literal cannot contain NUL") and DRF does not check query
    parameters for it, so without this a filter value with %00 would be a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.META.get("PATH_INFO", "").encode("latin-1", "surrogateescape")
        query = unquote_to_bytes(request.META.get("QUERY_STRING", "").replace("+", " "))
        if _is_unsafe(path) or _is_unsafe(query):
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
            if _is_unsafe(body) or _is_unsafe(unquote_to_bytes(body.replace(b"+", b" "))):
                return HttpResponseBadRequest("The request body contains a NUL byte or invalid UTF-8.")
            if b"\\u0000" in body and "json" in content_type:
                return HttpResponseBadRequest("The request body contains a NUL character.")
        return self.get_response(request)

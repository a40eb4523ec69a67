"""Refuse requests that PostgreSQL cannot store or compare, before any view sees them; and django-csp's
middleware with its common policy built once."""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase

from claims.api.errors import invalid_parameters, is_api_request, problem_response

# Bodies larger than this are left to the view (the app takes no uploads).
_BODY_CHECK_LIMIT = 2 * 1024 * 1024

UNSAFE_TEXT = "Contains a NUL character or invalid UTF-8 (such as a lone surrogate)."

# A backslash escape in JSON text, read left to right as a parser would: a surrogate pair (\ud83d\ude00,
# one character), any other \u and four hex digits (captured), or a backslash and the one character it
# escapes, so that an escaped backslash followed by "u0000" (`\\u0000`) is text, not an escape.
_JSON_ESCAPE = re.compile(
    rb"\\(?:u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|([0-9a-fA-F]{4}))|.)", re.DOTALL
)


def _is_unsafe(raw: bytes) -> bool:
    """True for a NUL byte or bytes that are not valid UTF-8 (a lone surrogate encodes as such)."""
    if b"\x00" in raw:
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _escapes_unsafe_character(json_text: bytes) -> bool:
    """True when JSON text escapes NUL (\\u0000) or a surrogate that is not half of a pair (\\ud800 alone).

    A scan of the escapes, not a parse: it takes time in proportion to the text and cannot fail, however
    deeply the JSON nests or however malformed it is (the view refuses malformed JSON itself).
    """
    for escape in _JSON_ESCAPE.finditer(json_text):
        hex_digits = escape.group(1)
        if hex_digits is not None:
            code = int(hex_digits, 16)
            if code == 0 or 0xD800 <= code <= 0xDFFF:
                return True
    return False


def _unsafe_parameters(query_string: str) -> list[str]:
    """The names of the query parameters whose name or value decodes to NUL or invalid UTF-8."""
    names = []
    for pair in query_string.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_to_bytes(raw_name.replace("+", " "))
        if _is_unsafe(name) or _is_unsafe(unquote_to_bytes(raw_value.replace("+", " "))):
            names.append(name.replace(b"\x00", b"").decode("utf-8", "replace"))
    return names


def _raw_path(request: HttpRequest) -> bytes:
    # Django has decoded the path already and percent-encoded again any bytes that were not UTF-8
    # (a lone surrogate arrives as %ED%A0%80), so unquoting its UTF-8 form gives back the raw bytes.
    return unquote_to_bytes(request.path_info.encode("utf-8", "surrogatepass"))


class RejectUnsafeCharactersMiddleware:
    """A NUL byte or a lone surrogate in the path, the query string or a form/JSON body is a 400.

    PostgreSQL refuses NUL in text and cannot encode a lone surrogate, and DRF does not check query
    parameters for either, so without this a filter value with %00 would be a 500. Under /api/ the 400 is
    the API's problem document, naming the parameters; elsewhere a line of text.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_unsafe(_raw_path(request)):
            return self._refuse(request, "The URL contains a NUL byte or invalid UTF-8.")
        parameters = _unsafe_parameters(request.META.get("QUERY_STRING", ""))
        if parameters:
            return self._refuse(
                request,
                "The request contains a NUL byte or invalid UTF-8.",
                {name: [UNSAFE_TEXT] for name in parameters},
            )
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
                return self._refuse(request, "The request body contains a NUL byte or invalid UTF-8.")
            if "json" in content_type and _escapes_unsafe_character(body):
                return self._refuse(request, "The request body contains a NUL character or a lone surrogate.")
        return self.get_response(request)

    def _refuse(
        self, request: HttpRequest, detail: str, errors: dict[str, list[str]] | None = None
    ) -> HttpResponse:
        if is_api_request(request):
            if errors:
                detail = invalid_parameters(sorted(errors))
            return problem_response(HTTPStatus.BAD_REQUEST, detail, errors)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


# What a response or request may set to have a policy of its own (django-csp's decorators and nonce).
_OWN_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's CSPMiddleware, with the policies of the settings built once.

    django-csp builds both headers afresh for every response (a deep copy of the settings' directives, then
    the header's text): a few per cent of an API read. A response that asks for no policy of its own (no
    @csp, @csp_update or @csp_replace on its view) to a request that used no nonce gets the settings'
    policies, the same text every time: here they are built once per settings object (a test that overrides
    the settings has them built again). Every other response is django-csp's, as before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)
        self._built: tuple[object, object, str, str] | None = None

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _OWN_POLICY
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages, as django-csp leaves them
        enforced = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not enforced or built[1] is not report_only:
            built = self._built = (enforced, report_only, build_policy(), build_policy(report_only=True))
        for header, policy, config, exempt in (
            (HEADER, built[2], enforced, "_csp_exempt"),
            (HEADER_REPORT_ONLY, built[3], report_only, "_csp_exempt_ro"),
        ):
            excluded = tuple((config or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            if (
                policy
                and getattr(response, exempt, False) is False
                and header not in response
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error, not a silent miss.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

"""The API's one error shape: every error under /api/ is a problem document (RFC 9457).

    HTTP/1.1 400 Bad Request
    Content-Type: application/problem+json

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "The parameter page_size is not valid.",
     "errors": {"page_size": ["Must be a whole number from 1 to 100."]}}

`errors` is there only on a 400 that names parameters; a throttled 429 (and a 503) keeps its Retry-After
header. One builder, `problem_response`, makes every one of them, whichever part of the stack refuses:

- DRF's views: `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]).
- Django, for what no DRF view answers (an unknown URL under /api/, a bad Host header, too many query
  parameters, an unexpected error): `page_not_found`, `bad_request`, `permission_denied` and `server_error`,
  named in factcheck/urls.py. Outside /api/ they answer Django's own pages.
- factcheck.middleware, which refuses NUL and lone surrogates before any view.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.html import strip_tags
from django.views import defaults
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# One sentence for every 404, whatever was not found (an unknown URL, id or slug, or an unpublished claim).
NOT_FOUND = "Nothing is published at this URL."
SERVER_ERROR = "The server failed to answer this request. The error has been logged."
# A database outage (factcheck.health): a 503 with Retry-After.
DATABASE_UNAVAILABLE = "The database is unavailable. Try again shortly."
# Headers DRF sets on an error response that clients need: how to authenticate, when to try again.
_KEPT_HEADERS = ("WWW-Authenticate", "Retry-After")


def is_api_request(request: HttpRequest) -> bool:
    """True for a request under /api/: its errors are problem documents, not HTML pages."""
    return request.path_info == "/api" or request.path_info.startswith("/api/")


def problem(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The body of an API error: the HTTP status, its reason phrase, a sentence, and the bad parameters."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An API error as a plain Django response (no renderer, no content negotiation: it cannot fail).

    The JSON is UTF-8; a character UTF-8 cannot hold (a lone surrogate echoed from a value) is written as
    its \\u escape, which is still valid JSON.
    """
    text = json.dumps(problem(status, detail, errors), ensure_ascii=False)
    return HttpResponse(
        text.encode("utf-8", "backslashreplace"),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


# DRF --------------------------------------------------------------------------------------------------


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: every APIException (and Django's Http404 and PermissionDenied) as a problem.

    DRF's own handler runs first for what it does besides the body: it rolls back an atomic request and
    works out the Retry-After and WWW-Authenticate headers, which are kept. Anything else returns None, so
    Django's handler500 answers (a problem too, under /api/) and logs it.
    """
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    status = response.status_code
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    if isinstance(exc, exceptions.ValidationError):
        errors = _messages_by_parameter(exc.detail)
        return problem_response(status, invalid_parameters(sorted(errors)), errors, headers=headers)
    if status == HTTPStatus.NOT_FOUND:
        return problem_response(status, NOT_FOUND, headers=headers)
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    return problem_response(status, str(detail or HTTPStatus(status).phrase), headers=headers)


def invalid_parameters(names: list[str]) -> str:
    """The detail sentence of a 400 that names parameters."""
    if len(names) == 1:
        return f"The parameter {names[0]} is not valid."
    return f"The parameters {', '.join(names[:-1])} and {names[-1]} are not valid."


def _messages_by_parameter(detail: Any) -> dict[str, list[str]]:
    """A ValidationError's detail as {parameter: [message, ...]}; errors not tied to one parameter are
    under "non_field_errors" (DRF's name).
    """
    if isinstance(detail, dict):
        return {str(name): _messages(value) for name, value in detail.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: _messages(detail)}


def _messages(detail: Any) -> list[str]:
    """Every message in a (possibly nested) ValidationError detail, as strings."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


# A write's refusals: the admin's form errors and the services' ValidationError, as a 400 naming the fields.

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)


def plain_text(message: str) -> str:
    """An error message as text: the admin's messages may hold a link (a duplicate claim's), kept as
    "its text (its address)"."""
    return html.unescape(strip_tags(_LINK.sub(r"\2 (\1)", str(message))))


def validation_error(errors: Mapping[Any, Any]) -> exceptions.ValidationError:
    """A form's or a service's errors ({field or None or "__all__": [message, ...]}) as DRF's 400, each
    message as text; errors not tied to one field go under "non_field_errors"."""
    detail: dict[str, list[str]] = {}
    for field, messages in errors.items():
        name = api_settings.NON_FIELD_ERRORS_KEY if field in (None, "__all__") else str(field)
        detail.setdefault(name, []).extend(plain_text(message) for message in messages)
    return exceptions.ValidationError(detail)


@contextlib.contextmanager
def refusals_as_400(renamed: Mapping[str, str] | None = None) -> Iterator[None]:
    """A service's refusal (Django's ValidationError) inside the block becomes a 400 naming the fields
    (`renamed`: a service's field name → the API's)."""
    try:
        yield
    except DjangoValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        renamed = renamed or {}
        raise validation_error(
            {renamed.get(field, field): messages for field, messages in errors.items()}
        ) from None


# Django's error views (factcheck/urls.py) ---------------------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused to read (a bad Host header, too many parameters, ...)."""
    if is_api_request(request):
        return problem_response(HTTPStatus.BAD_REQUEST, "The request could not be read.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403."""
    if is_api_request(request):
        return problem_response(HTTPStatus.FORBIDDEN, str(exceptions.PermissionDenied.default_detail))
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an unknown URL under /api/ is the same 404 as an unknown id."""
    if is_api_request(request):
        return problem_response(HTTPStatus.NOT_FOUND, NOT_FOUND)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django has logged the error; the client learns only that it happened."""
    if is_api_request(request):
        return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, SERVER_ERROR)
    return defaults.server_error(request)


def debug_not_found_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    """With DEBUG on, Django answers an unknown URL with its HTML debug page, not handler404: under /api/ this
    gives the problem document instead, so the development server speaks to API clients as production does.

    Only in MIDDLEWARE when DEBUG is on (settings.py); it sits after CommonMiddleware, which still turns a
    404 of a URL missing its slash into the redirect.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if (
            response.status_code == HTTPStatus.NOT_FOUND
            and is_api_request(request)
            and response.get("Content-Type", "").split(";")[0] != PROBLEM_CONTENT_TYPE
        ):
            return problem_response(HTTPStatus.NOT_FOUND, NOT_FOUND)
        return response

    return middleware


# The OpenAPI description ---------------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    """An API error (RFC 9457 problem details, served as application/problem+json)."""

    type = serializers.CharField(help_text='Always "about:blank": the status says what kind of error it is.')
    title = serializers.CharField(help_text="The HTTP status's reason phrase, such as “Bad Request”.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong, in one sentence.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="On a 400 that names parameters: each bad parameter with what is wrong with it.",
    )

    class Meta:
        ref_name = "Problem"


# The header a throttled 429 and an outage's 503 always carry: a response header of those two in the document
# (claims.api.views.ApiSchema adds it to every operation). DRF and factcheck.health write whole seconds.
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    {"type": "integer", "minimum": 0},
    location=OpenApiParameter.HEADER,
    required=True,
    description="How many seconds to wait before trying again.",
    response=[429, 503],  # a list: drf-spectacular reads any other true value as "every response"
)


# A 401's challenge: the scheme to authenticate with (claims.api.keys). Documented on the writes.
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    {"type": "string"},
    location=OpenApiParameter.HEADER,
    required=True,
    description="The scheme to send credentials in: `Api-Key` (the header `Authorization: Api-Key <key>`).",
    response=[401],
)


def problem_responses(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """The error responses of an operation for extend_schema(responses=...), each a Problem."""
    return {(status, PROBLEM_CONTENT_TYPE): ERROR_RESPONSES[status] for status in statuses}


def _error_response(status: int, description: str, detail: str, **errors: list[str]) -> OpenApiResponse:
    """An error response in the document, with a real body as its example (the docs page shows it)."""
    example = OpenApiExample(HTTPStatus(status).phrase, value=problem(status, detail, errors or None))
    return OpenApiResponse(ProblemSerializer, description=description, examples=[example])


ERROR_RESPONSES = {
    400: _error_response(
        400,
        "A parameter is malformed or unknown: `errors` names each and says why.",
        "The parameter page_size is not valid.",
        page_size=["Must be a whole number from 1 to 100."],
    ),
    401: _error_response(
        401,
        "No API key, or one that is not valid (unknown, revoked or expired): WWW-Authenticate names the scheme.",
        str(exceptions.NotAuthenticated.default_detail),
    ),
    403: _error_response(
        403,
        "The API key lacks the scope, or its user the permission, this write takes; or the request was "
        "made with a session, which reads only.",
        "This API key does not have the scope write_claims.",
    ),
    404: _error_response(404, "Nothing is published at this URL.", NOT_FOUND),
    409: _error_response(
        409,
        "The claim was edited since the version you sent: `detail` says who changed what; read it again.",
        "Since you opened this page, ada changed Text (10:42). Your changes are kept below: review them "
        "against the current values, then save again.",
    ),
    406: _error_response(
        406,
        "The Accept header asks for a format the API does not serve.",
        str(exceptions.NotAcceptable.default_detail),
    ),
    415: _error_response(
        415,
        "The body is not JSON (Content-Type: application/json).",
        'Unsupported media type "text/plain" in request.',
    ),
    429: _error_response(
        429,
        "Too many requests: the Retry-After header says how many seconds to wait.",
        "Request was throttled. Expected available in 30 seconds.",
    ),
    503: _error_response(
        503,
        "The database cannot be reached: the Retry-After header says how many seconds to wait.",
        DATABASE_UNAVAILABLE,
    ),
}

"""Every API error is one JSON shape, a problem document (claims.api.errors), wherever it is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from unittest.mock import patch

import pytest
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from claims.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE
from tests.factories import make_claim, make_rated_claim

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def problem_body(response, status: int) -> dict:
    """The problem document of an API error response, checked for the shape every API error has."""
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = json.loads(response.content)
    assert set(body) - {"errors"} == PROBLEM_FIELDS
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def parameter_errors(response) -> dict[str, list[str]]:
    """The `errors` of a 400 problem document: each bad parameter with its messages."""
    body = problem_body(response, 400)
    assert body["title"] == "Bad Request"
    for name in body["errors"]:
        assert name in body["detail"]
    return body["errors"]


# --- 400 ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_parameter_is_a_problem_naming_it(client, statuses):
    response = client.get("/api/v1/claims/?kind=rumour")

    assert json.loads(response.content) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The parameter kind is not valid.",
        "errors": {"kind": ["There is no kind of claim “rumour”."]},
    }
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_several_bad_parameters_are_each_named(client, statuses):
    response = client.get("/api/v1/claims/?kind=rumour&said_on_after=May&status=lies")

    errors = parameter_errors(response)

    assert sorted(errors) == ["kind", "said_on_after", "status"]
    assert response.json()["detail"] == "The parameters kind, said_on_after and status are not valid."


@pytest.mark.django_db
def test_a_browser_asking_for_html_gets_the_problem_too(client, statuses):
    response = client.get("/api/v1/claims/?kind=rumour", HTTP_ACCEPT="text/html")

    assert parameter_errors(response) == {"kind": ["There is no kind of claim “rumour”."]}


@pytest.mark.django_db
def test_too_many_query_parameters_is_a_problem(client):
    query = "&".join(f"p{n}=1" for n in range(1100))  # Django reads at most 1,000

    response = client.get(f"/api/v1/claims/?{query}")

    assert problem_body(response, 400)["detail"] == "The request could not be read."


@pytest.mark.django_db
def test_a_host_we_do_not_serve_is_a_problem_under_api_and_a_page_elsewhere(client):
    api = client.get("/api/v1/claims/", HTTP_HOST="evil.example")
    page = client.get("/claims/", HTTP_HOST="evil.example")

    assert problem_body(api, 400)["detail"] == "The request could not be read."
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")


# --- 404 ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api",
        "/api/v2/claims/",
        "/api/v1/nothing/",
        "/api/v1/claims/1/timeline/",
        "/api/v1/claims/999999/",
        "/api/v1/claims/abc/",
        "/api/v1/speakers/nobody/",
        "/api/v1/sources/999999/",
        "/api/v1/statuses/nothing/",
        "/api/v1/claims/?format=xml",
    ],
)
def test_every_404_under_api_is_the_same_problem(client, statuses, path):
    make_rated_claim()

    body = problem_body(client.get(path), 404)

    assert body == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": NOT_FOUND}


@pytest.mark.django_db
def test_an_unpublished_claim_is_the_same_404_as_a_missing_one(client, statuses):
    unpublished = make_claim()

    assert client.get(f"/api/v1/claims/{unpublished.id}/").content == client.get("/api/v1/claims/0/").content


@pytest.mark.django_db
def test_an_unknown_page_outside_the_api_is_still_an_html_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 403, 405, 406, 415 -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_anonymous_write_is_a_401_problem_naming_the_api_key_scheme(client):
    response = client.post("/api/v1/claims/", "{}", content_type="application/json")

    assert problem_body(response, 401)["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
def test_a_method_the_api_does_not_have_is_a_405_problem_with_allow(admin_client):
    response = admin_client.post("/api/v1/statuses/", "{}", content_type="application/json")

    assert problem_body(response, 405)["detail"] == 'Method "POST" not allowed.'
    assert response["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.django_db
def test_a_format_the_api_does_not_serve_is_a_406_problem(client):
    response = client.get("/api/v1/statuses/", HTTP_ACCEPT="application/xml")

    assert problem_body(response, 406)["title"] == "Not Acceptable"


# --- the handler on its own: what no view of ours raises today ---------------------------------------------


class Refusing(APIView):
    """A view that raises what it is given, to see the handler's answer for each DRF exception."""

    permission_classes = []
    authentication_classes = []
    exception = exceptions.APIException()

    def get(self, request):
        raise self.exception

    def post(self, request):
        return Response(request.data)


@pytest.mark.parametrize(
    ("exception", "status", "detail"),
    [
        (exceptions.ParseError(), 400, "Malformed request."),
        (
            exceptions.ValidationError(["Pick one of a or b."]),
            400,
            "The parameter non_field_errors is not valid.",
        ),
        (exceptions.NotAuthenticated(), 403, "Authentication credentials were not provided."),
        (exceptions.PermissionDenied(), 403, "You do not have permission to perform this action."),
        (exceptions.NotFound("No Claim matches the given query."), 404, NOT_FOUND),
        (exceptions.MethodNotAllowed("PUT"), 405, 'Method "PUT" not allowed.'),
        (exceptions.NotAcceptable(), 406, "Could not satisfy the request Accept header."),
        (exceptions.UnsupportedMediaType("text/csv"), 415, 'Unsupported media type "text/csv" in request.'),
        (exceptions.Throttled(wait=7), 429, "Request was throttled. Expected available in 7 seconds."),
    ],
)
def test_every_drf_exception_is_a_problem(exception, status, detail):
    view = Refusing.as_view(exception=exception)

    response = view(APIRequestFactory().get("/api/v1/refusing/"))

    body = problem_body(response, status)
    assert body["detail"] == detail
    assert ("errors" in body) == isinstance(exception, exceptions.ValidationError)


def test_a_throttled_request_keeps_retry_after():
    view = Refusing.as_view(exception=exceptions.Throttled(wait=7))

    response = view(APIRequestFactory().get("/api/v1/refusing/"))

    assert problem_body(response, 429)["title"] == "Too Many Requests"
    assert response["Retry-After"] == "7"


def test_a_body_of_a_media_type_we_do_not_parse_is_a_415_problem():
    view = Refusing.as_view()

    response = view(APIRequestFactory().post("/api/v1/refusing/", "a,b", content_type="text/csv"))

    assert problem_body(response, 415)["detail"] == 'Unsupported media type "text/csv" in request.'


def test_malformed_json_in_a_body_the_view_reads_is_a_400_problem():
    view = Refusing.as_view()

    response = view(
        APIRequestFactory().post("/api/v1/refusing/", "{not json", content_type="application/json")
    )

    body = problem_body(response, 400)
    assert body["detail"].startswith("JSON parse error")
    assert "errors" not in body


# --- 500 ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unexpected_error_under_api_is_a_500_problem_that_does_not_show_the_error(client, statuses):
    client.raise_request_exception = False
    with (
        patch("claims.api.views.StatusViewSet.get_queryset", side_effect=RuntimeError("a bug")),
        patch("claims.views.HomeView.get_queryset", side_effect=RuntimeError("a bug")),
    ):
        api = client.get("/api/v1/statuses/")
        page = client.get("/")

    body = problem_body(api, 500)
    assert body["detail"] == "The server failed to answer this request. The error has been logged."
    assert "a bug" not in api.content.decode()
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_with_debug_on_an_unknown_api_url_is_still_the_problem_404_and_a_missing_slash_still_redirects():
    # `make run` serves with DEBUG on, where Django's HTML debug page replaces handler404.
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    script = (
        "import django; django.setup();"
        "from django.test import Client; from django.test.utils import setup_test_environment;"
        "setup_test_environment(); c = Client();"
        "r = c.get('/api/v1/nope/'); print(r.status_code, r['Content-Type'], r.json()['detail']);"
        "r = c.get('/api/v1/statuses'); print(r.status_code, r['Location']);"
        "r = c.get('/no-such-page/'); print(r.status_code, r['Content-Type'])"
    )
    result = subprocess.run(  # noqa: S603 (this interpreter, with the test's own script)
        [sys.executable, "-c", script],
        env={**env, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "factcheck.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "404 application/problem+json Nothing is published at this URL.",
        "301 /api/v1/statuses/",
        "404 text/html; charset=utf-8",
    ]

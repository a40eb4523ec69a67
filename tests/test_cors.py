"""CORS for the read-only API (django-cors-headers): any origin may read /api/v1/, without credentials.

The first tests go through the whole middleware stack with Django's test client; the last ones send real
HTTP to gunicorn with the production settings, as a browser on another site would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Server, production_server
from tests.factories import make_rated_claim

ORIGIN = "https://newsroom.example"


def _preflight_headers(method: str = "GET", headers: str = "if-none-match") -> dict[str, str]:
    return {
        "HTTP_ORIGIN": ORIGIN,
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method,
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": headers,
    }


def _names(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


@pytest.mark.django_db
def test_any_origin_may_read_the_api_without_credentials(client, statuses):
    claim = make_rated_claim()
    for url in ("/api/v1/claims/", f"/api/v1/claims/{claim.id}/", "/api/v1/statuses/", "/api/v1/changes/"):
        response = client.get(url, HTTP_ORIGIN=ORIGIN)
        assert response.status_code == 200, url
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response
        assert _names(response["Access-Control-Expose-Headers"]) == {
            "etag",
            "last-modified",
            "link",
            "retry-after",
        }


@pytest.mark.django_db
def test_a_preflight_is_answered_with_the_read_methods_and_the_conditional_headers(client):
    response = client.options(
        "/api/v1/claims/", **_preflight_headers(headers="if-none-match, if-modified-since")
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert _names(response["Access-Control-Allow-Methods"]) == {"get", "head", "options"}
    assert {"if-none-match", "if-modified-since", "accept"} <= _names(
        response["Access-Control-Allow-Headers"]
    )
    assert "Access-Control-Allow-Credentials" not in response
    assert int(response["Access-Control-Max-Age"]) > 0


@pytest.mark.django_db
def test_the_304_the_400_and_the_429_are_readable_by_another_sites_script(client, statuses, anon_rate):
    make_rated_claim()
    etag = client.get("/api/v1/claims/")["ETag"]
    not_modified = client.get("/api/v1/claims/", HTTP_ORIGIN=ORIGIN, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["Access-Control-Allow-Origin"] == "*"

    bad = client.get("/api/v1/claims/?kind=poem", HTTP_ORIGIN=ORIGIN)
    assert bad.status_code == 400
    assert bad["Access-Control-Allow-Origin"] == "*"

    anon_rate("1/minute")
    client.get("/api/v1/claims/", HTTP_ORIGIN=ORIGIN)
    refused = client.get("/api/v1/claims/", HTTP_ORIGIN=ORIGIN)
    assert refused.status_code == 429
    assert refused["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/claims/", "/admin/login/", "/api/schema/"])
def test_nothing_but_the_api_is_shared_with_other_origins(client, url):
    assert "Access-Control-Allow-Origin" not in client.get(url, HTTP_ORIGIN=ORIGIN)
    preflight = client.options(url, **_preflight_headers())
    assert "Access-Control-Allow-Origin" not in preflight


# --- real HTTP, production settings ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, collected_static, tmp_path_factory) -> Iterator[Server]:
    """gunicorn with the production settings on the test database (empty: CORS needs no rows)."""
    with production_server(django_db_blocker, collected_static, tmp_path_factory.mktemp("cors")) as running:
        yield running


@pytest.mark.django_db
def test_over_http_a_browsers_preflight_then_get_then_revalidation(server):
    preflight, body, _ = server.request(
        "/api/v1/statuses/",
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status == 200
    assert preflight.getheader("Access-Control-Allow-Origin") == "*"
    assert "if-none-match" in _names(preflight.getheader("Access-Control-Allow-Headers"))

    first, body, _ = server.request("/api/v1/statuses/", headers={"Origin": ORIGIN})
    assert first.status == 200
    assert first.getheader("Access-Control-Allow-Origin") == "*"
    assert first.getheader("Access-Control-Allow-Credentials") is None
    assert "etag" in _names(first.getheader("Access-Control-Expose-Headers"))
    etag = first.getheader("ETag")

    again, body, _ = server.request("/api/v1/statuses/", headers={"Origin": ORIGIN, "If-None-Match": etag})
    assert again.status == 304
    assert body == b""
    assert again.getheader("Access-Control-Allow-Origin") == "*"
    assert again.getheader("ETag") == etag

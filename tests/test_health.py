"""The health probes in process: what they answer, and what they leave alone (Host, HTTPS, session).

The outage itself, with a database that is really not there, is tests/test_outage.py.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.utils import OperationalError
from django.test import override_settings

from factcheck.health import is_connection_failure
from tests.conftest import unused_port

# Production's front door: only the public name is allowed, plain HTTP is redirected to HTTPS.
production_door = override_settings(
    ALLOWED_HOSTS=["factcheck.example"], SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None
)


@production_door
def test_healthz_answers_a_load_balancer_probe_over_plain_http_with_an_ip_host(client):
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response
    assert "Cookie" not in response.get("Vary", "")


@production_door
@pytest.mark.django_db
def test_readyz_says_the_database_answers(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # SELECT 1
        response = client.get("/readyz", HTTP_HOST="10.0.3.7")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response


@production_door
def test_the_same_request_elsewhere_is_still_refused_and_redirected(client):
    assert client.get("/claims/", HTTP_HOST="10.0.3.7").status_code == 400  # not an allowed host
    redirect = client.get("/claims/", HTTP_HOST="factcheck.example")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://factcheck.example/claims/"


@pytest.mark.django_db
def test_the_probes_never_load_the_session(client):
    client.cookies["sessionid"] = "a-session-that-does-not-exist"
    response = client.get("/readyz")

    assert response.status_code == 200
    assert "Set-Cookie" not in response
    assert not hasattr(response.wsgi_request, "session")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_only_read(client, path):
    response = client.post(path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_a_refused_connection_is_an_outage():
    # The embedded server's URL names its socket directory in OPTIONS["host"], which would win over HOST.
    options = {k: v for k, v in connection.settings_dict["OPTIONS"].items() if k not in ("host", "port")}
    settings_dict = {
        **connection.settings_dict,
        "HOST": "127.0.0.1",
        "PORT": str(unused_port()),
        "OPTIONS": options,
    }
    unreachable = DatabaseWrapper(settings_dict, alias="unreachable")

    with pytest.raises(OperationalError) as refused:
        unreachable.ensure_connection()

    assert is_connection_failure(refused.value)


@pytest.mark.django_db
def test_a_statement_timeout_is_not_an_outage_but_a_500_to_look_into():
    with pytest.raises(OperationalError) as cancelled, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 10")
        cursor.execute("SELECT pg_sleep(1)")

    assert cancelled.value.__cause__.sqlstate == "57014"  # query_canceled
    assert not is_connection_failure(cancelled.value)

"""A database outage, for real: gunicorn with DEBUG off and a DATABASE_URL where no database answers.

No shared database is stopped: each server is pointed at a port of its own, either closed (the connection
is refused at once) or held by a socket that never answers (the connect timeout bounds the wait).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, production_env, unused_port
from tests.test_csp import THE_POLICY, parse_policy

# A request as it arrives from the TLS proxy, for the public name.
THROUGH_THE_PROXY = {"Host": "factcheck.example", "X-Forwarded-Proto": "https"}


def _serve(database_url: str, static_root: Path, log: Path, **env: str) -> Server:
    server = Server(
        production_env(DATABASE_URL=database_url, STATIC_ROOT=str(static_root), **env),
        log,
    )
    server.wait_until_serving()
    return server


@pytest.fixture(scope="module")
def refused(collected_static, tmp_path_factory) -> Iterator[Server]:
    """Nothing listens on the database's port."""
    log = tmp_path_factory.mktemp("refused") / "gunicorn.log"
    server = _serve(f"postgres://factcheck@127.0.0.1:{unused_port()}/factcheck", collected_static, log)
    yield server
    server.stop()


def test_healthz_answers_while_the_database_is_down(refused):
    # A load balancer's probe: plain HTTP, an IP address as the Host, no HTTPS redirect, no cookie.
    response, body, seconds = refused.request("/healthz", {"Host": "10.0.3.7:8000"})

    assert response.status == 200
    assert body == b'{"status": "ok"}'
    assert response.getheader("Cache-Control") == "no-store"
    assert parse_policy(response.getheader("Content-Security-Policy")) == THE_POLICY
    assert response.getheader("Set-Cookie") is None
    assert seconds < 1


def test_readyz_says_not_ready_at_once_when_the_database_refuses(refused):
    response, body, seconds = refused.request("/readyz", {"Host": "10.0.3.7"})

    assert response.status == 503
    assert response.getheader("Content-Type") == "application/json"
    assert body == b'{"status": "unavailable", "database": "unavailable"}'
    assert response.getheader("Cache-Control") == "no-store"
    assert parse_policy(response.getheader("Content-Security-Policy")) == THE_POLICY
    assert seconds < 1


@pytest.mark.parametrize("cookie", [None, "sessionid=abc123"])
def test_the_api_answers_503_problem_json_with_retry_after(refused, cookie):
    # A browser's Accept: the API has no HTML in production (no browsable API), and answers it JSON.
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    headers = {**THROUGH_THE_PROXY, "Accept": browser} | ({"Cookie": cookie} if cookie else {})
    response, body, seconds = refused.request("/api/v1/claims/?kind=fact", headers)

    assert response.status == 503
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Retry-After") == "30"
    assert response.getheader("Cache-Control") == "no-store"
    assert parse_policy(response.getheader("Content-Security-Policy")) == THE_POLICY
    assert body == (
        b'{"type": "about:blank", "title": "Service Unavailable", "status": 503,'
        b' "detail": "The database is unavailable. Try again shortly."}'
    )
    assert seconds < 1


def test_a_page_answers_a_plain_503_page(refused):
    response, body, _ = refused.request("/claims/", THROUGH_THE_PROXY)

    assert response.status == 503
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert response.getheader("Retry-After") == "30"
    assert b"<h1>factcheck is temporarily unavailable</h1>" in body
    assert parse_policy(response.getheader("Content-Security-Policy")) == THE_POLICY
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"


def test_each_outage_request_is_one_warning_line_without_a_traceback(refused):
    before = refused.log.read_text().count("Service Unavailable (database unreachable")
    refused.request("/claims/some-claim/", THROUGH_THE_PROXY)
    refused.request("/api/v1/speakers/", THROUGH_THE_PROXY)

    log = refused.log.read_text()
    assert log.count("Service Unavailable (database unreachable") == before + 2
    # Each request that met the outage (the probes included) is logged once, as a WARNING line of its own.
    outage_lines = [
        line for line in log.splitlines() if "database unreachable" in line or "Unavailable" in line
    ]
    assert outage_lines
    assert all(
        line.startswith(("Service Unavailable (database unreachable: ", "Not ready (database unreachable: "))
        for line in outage_lines
    ), outage_lines
    assert "Traceback" not in log
    assert "Internal Server Error" not in log


def test_a_database_that_never_answers_is_given_up_after_the_connect_timeout(collected_static, tmp_path):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"postgres://factcheck@127.0.0.1:{silent.getsockname()[1]}/factcheck"
        server = _serve(url, collected_static, tmp_path / "gunicorn.log", DATABASE_CONNECT_TIMEOUT="2")
        try:
            # Without a connect timeout libpq waits for ever, and these requests would end in the client's
            # own timeout (socket.timeout) instead of an answer: the 503 itself is the proof.
            ready, _, _ = server.request("/readyz", timeout=15)
            api, _, _ = server.request("/api/v1/claims/", THROUGH_THE_PROXY, timeout=15)
        finally:
            server.stop()

    assert ready.status == api.status == 503
    assert api.getheader("Retry-After") == "30"
    log = server.log.read_text()
    assert "Not ready (database unreachable: " in log  # the connect timed out: it was not refused
    assert "timeout" in log.lower()

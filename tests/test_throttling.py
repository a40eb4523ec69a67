"""The API's throttle of anonymous clients: a 429 with Retry-After past the rate, per client, shared by processes,
exact under bursts."""

from __future__ import annotations

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, connections
from django.test import RequestFactory

from factcheck.abuse import AnonymousClientThrottle, client_address
from tests.conftest import Server, production_env, the_test_database_url
from tests.factories import SITE_CLOCK, make_rated_claim, make_user

pytestmark = pytest.mark.django_db

CLAIMS = "/api/v1/claims/"


def _trust_proxies(settings, count: int) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}


def test_an_anonymous_client_past_the_rate_gets_a_429_with_retry_after(client, anon_rate):
    anon_rate("3/minute")
    assert [client.get(CLAIMS).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(CLAIMS)

    assert refused.status_code == 429
    # A burst of 3 spends the minute's allowance; the next request may come one third of a minute after the
    # first (less the few milliseconds the requests took).
    assert int(refused["Retry-After"]) in (19, 20)
    assert refused.json()["detail"]  # a sentence for the reader (its wording is the error handler's)
    # Every API list and detail counts against the same rate.
    assert client.get("/api/v1/statuses/").status_code == 429


def test_staff_and_other_clients_are_not_held_back_by_a_throttled_client(client, anon_rate, statuses):
    anon_rate("2/minute")
    for _ in range(3):
        client.get(CLAIMS)
    assert client.get(CLAIMS).status_code == 429

    assert client.get(CLAIMS, REMOTE_ADDR="203.0.113.7").status_code == 200
    client.force_login(make_user(editor=True))
    assert [client.get(CLAIMS).status_code for _ in range(5)] == [200] * 5


def test_pages_are_not_throttled(client, anon_rate):
    anon_rate("1/minute")
    client.get(CLAIMS)
    assert client.get(CLAIMS).status_code == 429

    assert client.get("/claims/").status_code == 200
    assert client.get("/").status_code == 200


def test_behind_one_proxy_the_address_it_saw_is_the_client(client, anon_rate, settings):
    """NUM_PROXIES=1: the last X-Forwarded-For entry, the one the proxy appended; what a client wrote
    before it is ignored."""
    _trust_proxies(settings, 1)
    anon_rate("2/minute")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for spoofed in ("198.51.100.1", "198.51.100.2"):
        assert client.get(CLAIMS, HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.9", **proxy).status_code == 200

    assert client.get(CLAIMS, HTTP_X_FORWARDED_FOR="198.51.100.3, 203.0.113.9", **proxy).status_code == 429
    assert client.get(CLAIMS, HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy).status_code == 200


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, anon_rate, settings):
    _trust_proxies(settings, 0)
    anon_rate("2/minute")
    statuses = [client.get(CLAIMS, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_an_ipv6_client_is_its_64_network(client, anon_rate):
    anon_rate("2/minute")
    assert client.get(CLAIMS, REMOTE_ADDR="2001:db8:1:2::1").status_code == 200
    assert client.get(CLAIMS, REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 200
    assert client.get(CLAIMS, REMOTE_ADDR="2001:db8:1:2:abcd::3").status_code == 429
    assert client.get(CLAIMS, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(
    ("meta", "num_proxies", "expected"),
    [
        ({"REMOTE_ADDR": "192.0.2.5"}, 0, "192.0.2.5"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.5, 192.0.2.6"}, 1, "192.0.2.6"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.5, 192.0.2.6"}, 2, "192.0.2.5"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not an address"}, 1, "10.0.0.2"),
        ({"REMOTE_ADDR": "::ffff:192.0.2.5"}, 0, "192.0.2.5"),
        ({"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"}, 0, "2001:db8:1:2::"),
        ({"REMOTE_ADDR": ""}, 0, "0.0.0.0"),  # noqa: S104 (an address, not a binding)
    ],
)
def test_client_address(settings, meta, num_proxies, expected):
    _trust_proxies(settings, num_proxies)
    assert client_address(RequestFactory().get("/", **meta)) == expected


def _seconds_pass(seconds: int) -> None:
    """Every client's theoretical arrival time moves that much earlier: as if the time had passed."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE factcheck_api_throttle SET tat = tat - make_interval(secs => %s)", [seconds])


def test_after_a_burst_a_client_gets_one_request_per_share_of_the_period(client, anon_rate):
    """3/minute: three at once, then one every 20 seconds; a client that waits long enough has a full burst."""
    anon_rate("3/minute")
    assert [client.get(CLAIMS).status_code for _ in range(4)] == [200, 200, 200, 429]

    _seconds_pass(15)
    refused = client.get(CLAIMS)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) in (4, 5)

    _seconds_pass(5)
    assert [client.get(CLAIMS).status_code for _ in range(2)] == [200, 429]

    _seconds_pass(60)
    assert [client.get(CLAIMS).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_what_the_throttle_costs_per_request(client, anon_rate, statuses, django_assert_num_queries):
    """An anonymous request the view must answer: the throttle's upsert runs in the site clock's statement
    (factcheck.caching), one query, then the view's one query if it passed. A conditional request, which may
    be answered 304 without the view, reads the clock alone first; the throttle then decides in the view. A
    logged-in request costs the throttle and the clock nothing."""
    make_rated_claim()
    anon_rate("3/minute")
    with django_assert_num_queries(SITE_CLOCK + 1):
        first = client.get(CLAIMS)
    assert first.status_code == 200
    with django_assert_num_queries(SITE_CLOCK + 1 + 1):
        assert client.get(CLAIMS, HTTP_IF_NONE_MATCH='W/"0-stale"').status_code == 200
    with django_assert_num_queries(SITE_CLOCK):
        assert client.get(CLAIMS, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304  # never counted
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get(CLAIMS).status_code == 200
    with django_assert_num_queries(SITE_CLOCK):
        assert client.get(CLAIMS).status_code == 429

    client.force_login(make_user(editor=True))
    client.get(CLAIMS)  # the session's user is read once, then cached on the session's request
    with django_assert_num_queries(3):  # session, user, the list
        assert client.get(CLAIMS).status_code == 200


def test_a_request_the_view_answers_is_counted_once_and_a_304_never(client, anon_rate):
    # The upsert ahead of the view (with the clock) and the view's throttle are one decision, not two.
    anon_rate("4/minute")
    first = client.get(CLAIMS)
    assert [client.get(CLAIMS, HTTP_IF_NONE_MATCH=first["ETag"]).status_code for _ in range(5)] == [304] * 5
    assert [client.get(CLAIMS).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_periodic_prune_deletes_the_clients_whose_time_is_past(
    client, anon_rate, monkeypatch, django_assert_num_queries
):
    """The table holds the recent clients only: a client whose time is past is deleted by the prune, one
    more statement on every PRUNE_EVERY-th anonymous request of a process."""
    anon_rate("3/minute")
    monkeypatch.setattr(AnonymousClientThrottle, "PRUNE_EVERY", 3)
    for address in ("192.0.2.1", "192.0.2.2"):
        client.get(CLAIMS, REMOTE_ADDR=address)
    _seconds_pass(30)  # the times of 192.0.2.1 and .2 are 10 seconds past now
    with django_assert_num_queries(SITE_CLOCK + 1 + 1):  # the clock and throttle, the list, the prune
        assert client.get(CLAIMS, REMOTE_ADDR="192.0.2.3").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM factcheck_api_throttle")
        assert [key for (key,) in cursor.fetchall()] == ["throttle_anon_192.0.2.3"]
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get(CLAIMS, REMOTE_ADDR="192.0.2.1").status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_on_many_connections_at_once_lets_exactly_the_rate_through(anon_rate):
    """16 requests of one client at the same instant, each on its own database connection (as 16 gunicorn
    workers would be): exactly 5 pass, and each refused one is told to wait a twelfth of a minute (less the
    moments the burst took)."""
    anon_rate("5/minute")
    request = RequestFactory().get(CLAIMS, REMOTE_ADDR="203.0.113.50")
    request.user = AnonymousUser()
    start = threading.Barrier(16)

    def ask() -> tuple[bool, float | None]:
        try:
            throttle = AnonymousClientThrottle()
            connections["default"].ensure_connection()  # connected before the start, so all ask at once
            start.wait(timeout=20)
            allowed = throttle.allow_request(request, None)
            return allowed, None if allowed else throttle.wait()
        finally:
            connections["default"].close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: ask(), range(16)))

    assert sum(allowed for allowed, _ in answers) == 5
    assert all(10 < wait <= 12 for allowed, wait in answers if not allowed), answers


# Two servers, as two containers or two gunicorn workers are: separate processes on one database.


def _start_server(static_root: Path, log: Path) -> Server:
    env = production_env(
        ALLOWED_HOSTS="localhost",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=str(static_root),
        DATABASE_URL=the_test_database_url(),
        API_ANON_THROTTLE_RATE="3/minute",
        NUM_PROXIES="0",
    )
    # Four threads: requests run at once within a process too, each thread on its own database connection.
    return Server(env, log, threads=4)


def _get(server: Server, path: str) -> http.client.HTTPResponse:
    response, _, _ = server.request(path, {"Host": "localhost"}, timeout=10)
    return response


def _forget_every_client() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM factcheck_api_throttle")


def _burst(servers: list[Server], count: int) -> list[http.client.HTTPResponse]:
    """`count` requests sent at the same instant, spread over the servers, each on its own connection."""
    start = threading.Barrier(count)

    def get(n: int) -> http.client.HTTPResponse:
        server = servers[n % len(servers)]
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        conn.connect()
        start.wait(timeout=20)
        conn.request("GET", CLAIMS, headers={"Host": "localhost"})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(get, range(count)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_server_processes_share_one_exact_count(collected_static, tmp_path):
    """A client's requests, alternating between two gunicorn processes over real HTTP, are counted once:
    the throttle's memory is PostgreSQL's table, not each process's. A burst of 12 at the same instant,
    over both processes and their threads, lets exactly the rate (3) through."""
    _forget_every_client()
    servers = [_start_server(collected_static, tmp_path / f"{name}.log") for name in ("first", "second")]
    try:
        for server in servers:
            server.wait_until_serving()

        answers = [_get(servers[n % 2], CLAIMS) for n in range(5)]

        assert [answer.status for answer in answers] == [200, 200, 200, 429, 429]
        assert {answer.getheader("Retry-After") is not None for answer in answers[3:]} == {True}
        assert _get(servers[0], "/claims/").status == 200  # pages are not throttled

        _forget_every_client()
        statuses = sorted(answer.status for answer in _burst(servers, 12))
        assert statuses == [200] * 3 + [429] * 9, statuses
    finally:
        for server in servers:
            server.stop()
    _forget_every_client()


def test_a_wait_under_a_second_is_retry_after_1_not_0(client, anon_rate):
    # At 10/second a refused client waits at most 0.1 s; Retry-After is whole seconds, rounded up (DRF's
    # Throttled does it), never 0, which would say "retry at once".
    anon_rate("10/second")
    refused = None
    for _ in range(60):  # a burst of 10, then one each 0.1 s: a request every few ms is soon refused
        answer = client.get("/api/v1/statuses/")
        if answer.status_code == 429:
            refused = answer
            break

    assert refused is not None
    assert refused["Retry-After"] == "1"

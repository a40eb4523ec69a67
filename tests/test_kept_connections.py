"""A kept database connection (CONN_MAX_AGE) that the server closed between requests is replaced before the
next request uses it, and the check that finds out makes no query (factcheck/postgresql/base.py).

Each test closes a connection the way a restart does: pg_terminate_backend from a second, real connection
(the server sends FATAL 57P01 and closes the socket).
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from tests.conftest import production_server, the_test_database_url


def _terminate(pids: list[int]) -> None:
    with psycopg.connect(the_test_database_url(), autocommit=True) as other:
        for pid in pids:
            assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)


def _last_query(pid: int) -> str:
    with psycopg.connect(the_test_database_url(), autocommit=True) as other:
        return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def _new_request() -> None:
    """What Django does when a request starts: the kept connection is due a health check again."""
    connection.close_if_unusable_or_obsolete()


@pytest.fixture(autouse=True)
def young_connection() -> None:
    """A connection opened now: one the test run has kept for longer than CONN_MAX_AGE would be closed at the
    next request as too old, whatever its health."""
    connection.close()
    connection.ensure_connection()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_healthy_kept_connection_is_kept_and_its_check_sends_nothing():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last query'")
    kept = connection.connection
    pid = kept.info.backend_pid

    _new_request()
    with connection.cursor() as cursor:  # the health check runs here, before the cursor is made
        assert connection.health_check_done
        assert connection.connection is kept
        assert _last_query(pid) == "SELECT 'the last query'"  # not Django's stock SELECT 1
        cursor.execute("SELECT 1 + 1")
        assert cursor.fetchone() == (2,)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_kept_connection_the_server_closed_is_replaced_before_the_next_query():
    connection.ensure_connection()
    dead = connection.connection
    dead_pid = dead.info.backend_pid
    _terminate([dead_pid])
    deadline = time.monotonic() + 5
    while connection.is_quiet() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not connection.is_quiet()

    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    assert connection.connection is not dead
    assert pid != dead_pid


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_the_server_drops_gunicorns_kept_connections_the_next_requests_still_answer(
    django_db_blocker, collected_static, tmp_path
):
    with production_server(django_db_blocker, collected_static, tmp_path, CONN_MAX_AGE="600") as server:
        for path in ("/api/v1/claims/", "/claims/"):
            assert server.request(path)[0].status == 200
        connection.ensure_connection()
        with psycopg.connect(the_test_database_url(), autocommit=True) as other:
            kept = [
                pid
                for (pid,) in other.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid NOT IN (pg_backend_pid(), %s)",
                    [connection.connection.info.backend_pid],
                )
            ]
        assert kept  # gunicorn's worker kept its connection
        _terminate(kept)
        time.sleep(0.2)  # the FATAL message reaches the worker's idle socket

        for path in ("/api/v1/claims/", "/claims/", "/api/v1/claims/"):
            response, body, _ = server.request(path)
            assert response.status == 200, body
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()

"""Django's PostgreSQL backend with a health check that costs no round trip (settings: ENGINE).

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request that reuses a kept
connection: on a read that otherwise makes two queries, that is a third round trip, about a fifth of the
request's time. A kept connection that went bad between requests went bad in one of two ways the client can
see without asking: the server closed it (a restart, pg_terminate_backend, idle_session_timeout) and said
so, a FATAL message and then the end of the stream, both of which make the idle socket readable; or libpq
already knows it is closed or broken. An idle connection has nothing to read (the server speaks only when
asked), so a readable socket, whatever it holds, is taken as a dead connection: it is closed and the request
connects afresh. A harmless message that arrives unasked (a parameter's new value after a reload) costs a
reconnect, never an error.

What neither check sees, a peer that vanished without a word (a cut network), `SELECT 1` would not have
caught quickly either: it waits for TCP to give up. A connection that failed during a request is still
checked with `SELECT 1` afterwards (Django's close_if_unusable_or_obsolete), as before.

And its timestamptz values are read by UTCTimestamptzLoader: Django's own loader parses them in Python.
"""

from __future__ import annotations

import select
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader


class UTCTimestamptzLoader(BaseTzLoader):
    """Django's loader of timestamptz values (it sets their tzinfo to the connection's time zone), for a
    connection in UTC (Django's with USE_TZ, unless DATABASES sets another TIME_ZONE), with a UTC value read
    by datetime.fromisoformat, in C. Django's loader subclasses psycopg's Python loader (psycopg's C one
    cannot be subclassed), which parsed every time in Python: three to a claim, a sixth of an API page of
    fifty claims. Anything else (another offset, BC, infinity, a DateStyle other than ISO) is Django's.
    """

    timezone = UTC

    def load(self, data: Any) -> datetime:
        try:
            value = datetime.fromisoformat(str(data, "ascii"))
        except (ValueError, UnicodeDecodeError):
            return super().load(data)
        # A zero offset reads as the one UTC tzinfo (datetime.UTC itself): nothing to replace.
        return value if value.tzinfo is UTC else super().load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> psycopg.Connection:
        connection = super().get_new_connection(conn_params)
        if self.timezone is UTC:
            connection.adapters.register_loader("timestamptz", UTCTimestamptzLoader)
        return connection

    def close_if_health_check_failed(self) -> None:
        if self.pool or self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            # Inside a transaction the server may have something to say: Django's SELECT 1 asks.
            super().close_if_health_check_failed()
            return
        if not self.is_quiet():
            self.close()
        self.health_check_done = True

    def is_quiet(self) -> bool:
        """True when the kept connection is open and has nothing unasked to read. No query."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poll = select.poll()
            poll.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poll.poll(0)
        except (psycopg.Error, OSError, ValueError):
            return False

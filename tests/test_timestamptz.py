"""Times read from PostgreSQL through the project's backend (factcheck/postgresql/base.py): the same values,
with the same tzinfo, as Django's own loader gives, whatever the text PostgreSQL writes."""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from factcheck.postgresql.base import UTCTimestamptzLoader

TIMES = [
    "now()",
    "'2025-05-26 12:34:56+00'",
    "'2025-05-26 12:34:56.5+00'",
    "'2025-05-26 12:34:56.123456+00'",
    "'2025-05-26 12:34:56.123456+05:30'",  # written back in UTC by the session
    "'1900-01-01 00:00:00+00'",
    "'0001-01-01 00:00:00+00'",
]
REFUSED = ["'infinity'", "'-infinity'", "'0044-03-15 00:00:00+00 BC'", "'12000-01-01 00:00:00+00'"]


class DjangosLoader(BaseTzLoader):
    timezone = UTC


def _read(expression: str, loader: type) -> object:
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute(f"SELECT ({expression})::timestamptz")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_connection_reads_times_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, psycopg.pq.Format.TEXT)
    assert loader is UTCTimestamptzLoader


@pytest.mark.django_db
@pytest.mark.parametrize("expression", TIMES)
def test_a_time_reads_as_djangos_loader_reads_it(expression):
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")  # one transaction: now() is the same in both reads
    ours, djangos = _read(expression, UTCTimestamptzLoader), _read(expression, DjangosLoader)

    assert ours == djangos
    assert ours.tzinfo is djangos.tzinfo is UTC
    assert (ours.year, ours.microsecond) == (djangos.year, djangos.microsecond)


@pytest.mark.django_db
@pytest.mark.parametrize("expression", REFUSED)
def test_a_time_python_cannot_hold_is_refused_as_django_refuses_it(expression):
    with pytest.raises(Exception) as ours:
        _read(expression, UTCTimestamptzLoader)
    with pytest.raises(Exception) as djangos:
        _read(expression, DjangosLoader)
    assert type(ours.value) is type(djangos.value)

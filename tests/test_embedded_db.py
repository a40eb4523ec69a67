"""factcheck/embedded_db.py: creating a database on the server when it is missing (the app's and the bench's)."""

from __future__ import annotations

from uuid import uuid4

import psycopg
from django.db import connection
from psycopg import sql
from psycopg.conninfo import make_conninfo

from factcheck.embedded_db import create_database_if_missing


def _server_url() -> str:
    """A connection string for the test database's server (any database on it will do)."""
    params = connection.settings_dict
    fields = {"dbname": "postgres", "user": params["USER"], "password": params["PASSWORD"]}
    fields.update(host=params["HOST"], port=str(params["PORT"] or ""))
    return make_conninfo(**{key: value for key, value in fields.items() if value})


def _databases_named(server: str, name: str) -> int:
    with psycopg.connect(server, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()[0]


def test_a_missing_database_is_created_and_an_existing_one_is_left_as_it_is():
    server = _server_url()
    name = f"factcheck_created_{uuid4().hex[:12]}"
    try:
        assert _databases_named(server, name) == 0
        create_database_if_missing(server, name)
        with psycopg.connect(make_conninfo(server, dbname=name), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
        create_database_if_missing(server, name)

        assert _databases_named(server, name) == 1
        with psycopg.connect(make_conninfo(server, dbname=name)) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

"""The embedded PostgreSQL used when DATABASE_URL is unset (development and tests).

pgserver ships the PostgreSQL binaries as a wheel and runs a private server under .data/, listening on a
Unix socket only, so it never collides with another PostgreSQL on the machine. The server is left running
when the process exits (cleanup_mode=None): the next command reuses it and starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import psycopg
from psycopg import errors, sql

DATABASE_NAME = "factcheck"


def database_url(data_dir: Path, name: str = DATABASE_NAME) -> str:
    """Start (or find) the embedded server under data_dir and return a URL for its database `name`.

    The first time, creates the database if missing (one connection, two statements); afterwards it costs
    only a check of postmaster.pid and of a marker file.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes with the fallback.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir / "pg", cleanup_mode=None)
    marker = data_dir / "pg" / f".{name}-database-created"
    if not marker.exists():
        create_database_if_missing(server.get_uri("postgres"), name)
        marker.touch()
    return server.get_uri(name)


def create_database_if_missing(server_url: str, name: str) -> None:
    """Create the database `name` on the server that `server_url` (any of its databases) points at.

    One connection, one or two statements. Two processes doing it at once are fine: the one that loses
    the race finds the database there.
    """
    with psycopg.connect(server_url, autocommit=True) as conn:  # CREATE DATABASE cannot run in a transaction
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        # Another process may create it between the check and here: then it is there, as wanted.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

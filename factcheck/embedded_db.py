"""The embedded PostgreSQL used when DATABASE_URL is unset (development and tests).

pgserver ships the PostgreSQL binaries as a wheel and runs a private server under .data/, listening on a
Unix socket only, so it never collides with another PostgreSQL on the machine. The server is left running
when the process exits (cleanup_mode=None): the next command reuses it and starts in milliseconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

DATABASE_NAME = "factcheck"


def database_url(data_dir: Path) -> str:
    """Start (or find) the embedded server under data_dir and return a URL for the factcheck database.

    Costs one psql round trip the first time, to create the database; afterwards only a check of
    postmaster.pid.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes with the fallback.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir / "pg", cleanup_mode=None)
    marker = data_dir / "pg" / ".factcheck-database-created"
    if not marker.exists():
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 (a constant)
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        marker.touch()
    return server.get_uri(DATABASE_NAME)

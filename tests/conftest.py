from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection


@pytest.fixture
def statuses(db):
    """The two shipped status scales (fixtures/statuses.json)."""
    call_command("loaddata", "statuses", verbosity=0)


# Every transactional test (django_db(transaction=True)) also says serialized_rollback=True: its flush then
# puts back what the migrations made (content types, permissions, the Editors group), so the tests that run
# after it, transactional or not and in any order, find the database as migrated.


# The production server -------------------------------------------------------------------------------------

BASE_DIR = Path(__file__).resolve().parent.parent
# A key of its own: production settings refuse the development key. Cursors a test signs for the server
# are signed with it.
PRODUCTION_SECRET_KEY = secrets.token_urlsafe(50)


@dataclass(frozen=True)
class ProductionServer:
    """A gunicorn serving the app with production settings, on the test database."""

    host: str
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def production_environment(static_root: Path) -> dict[str, str]:
    """The environment of a production start (README: a local trial without TLS), on the test database."""
    # pytest-django renamed the database in the connection's settings; the server reaches it the same way.
    database_url = urlsplit(settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"])
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": PRODUCTION_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url.geturl(),
        # Each request opens its own connection: nothing is left open when a test empties the tables.
        "CONN_MAX_AGE": "0",
        # The tests send thousands of requests from one address.
        "API_ANON_THROTTLE_RATE": "100000/minute",
        # Errors only: a 500 logs its traceback, which the tests look for.
        "LOG_LEVEL": "ERROR",
    }


@pytest.fixture(scope="session")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[ProductionServer]:
    """gunicorn with the production settings (DEBUG off, whitenoise's manifest storage after collectstatic,
    a secret key, ALLOWED_HOSTS) on the test database, over plain HTTP on a port of its own.

    It reads what is committed: a test that wants rows must commit them (and empty the tables after).
    """
    work = tmp_path_factory.mktemp("production")
    with django_db_blocker.unblock():
        environment = production_environment(work / "static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
        timeout=300,
    )
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = listener.getsockname()
    log = work / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (our own app)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "factcheck.wsgi",
                f"--bind=fd://{listener.fileno()}",
                "--workers=2",
                "--graceful-timeout=5",
            ],
            cwd=BASE_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    try:
        _wait_until_serving(server, host, port, log)
        yield ProductionServer(host=host, port=port, log=log)
    finally:
        server.terminate()
        server.wait(timeout=30)
        listener.close()


def _wait_until_serving(server: subprocess.Popen, host: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        client = http.client.HTTPConnection(host, port, timeout=5)
        try:
            client.request("GET", "/api/v1/statuses/")
            if client.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            client.close()
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")

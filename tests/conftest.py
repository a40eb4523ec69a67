from __future__ import annotations

import contextlib
import http.client
import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gunicorn.config
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from factcheck.abuse import DatabaseRateThrottle


@pytest.fixture(autouse=True)
def _api_throttle_off(settings):
    """The API's throttle of anonymous clients is off in tests (every test client is one client, 127.0.0.1),
    so a test may make as many requests as it needs and the pinned query counts are the views' own.

    tests/test_throttling.py turns it on with the `anon_rate` fixture, and pins what it adds per request.
    """
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None}}
    # API keys likewise, unless a key has its own rate (tests/test_api_keys.py sets one).
    settings.API_KEY_THROTTLE_RATE = None


@pytest.fixture
def anon_rate(settings, db, monkeypatch):
    """Turn the API's throttle of anonymous clients on at a rate, such as "3/minute", with no client seen yet.

    Its table is not a model's, so a transactional test's flush would leave it as it was: it is emptied here.
    The prune's request count starts again, so the query counts a test pins do not depend on test order.
    """
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM factcheck_api_throttle")
    monkeypatch.setattr(DatabaseRateThrottle, "_requests", itertools.count(1))

    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": rate}}

    return set_rate


@pytest.fixture
def set_today(monkeypatch):
    """Move the site's today: `set_today(date(2026, 11, 26))`. Every reader of "today" (the overdue rule's
    callers, the views, ?as_of='s check, the services' check of dates said) asks
    django.utils.timezone.localdate() with no argument; that call answers the day set, while localdate(a_time)
    still converts a time. The clock (timezone.now()) is not moved.
    """
    from django.utils import timezone

    real = timezone.localdate

    def set_today(day):
        def localdate(value=None, timezone=None):
            return day if value is None else real(value, timezone)

        monkeypatch.setattr("django.utils.timezone.localdate", localdate)

    return set_today


@pytest.fixture
def statuses(db):
    """The two shipped status scales (fixtures/statuses.json)."""
    call_command("loaddata", "statuses", verbosity=0)


# Every transactional test (django_db(transaction=True)) also says serialized_rollback=True: its flush then
# puts back what the migrations made (content types, permissions, the Editors group), so the tests that run
# after it, transactional or not and in any order, find the database as migrated.


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS picks it; free again once returned)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a production server in a subprocess: gunicorn, DEBUG off, real HTTP ------------------------------------

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET_KEY = "k3y-" + "abcdefghij" * 5
# Every variable settings.py reads, and those gunicorn reads itself: a developer's shell may set any of them
# (NUM_PROXIES, SECURE_HSTS_PRELOAD, ORGANIZATION_URL...), and the server must not inherit it.
SETTINGS_VARIABLES = frozenset(
    re.findall(r'env_[a-z]+\("([A-Z_]+)"', (ROOT / "factcheck" / "settings.py").read_text())
)
GUNICORN_VARIABLES = frozenset({"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"})


def production_env(**env: str) -> dict[str, str]:
    """The environment of a production start: DEBUG off, a good key, nothing inherited that would change it."""
    inherited = {
        k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES and k not in GUNICORN_VARIABLES
    }
    return {
        **inherited,
        "DEBUG": "false",
        "SECRET_KEY": GOOD_SECRET_KEY,
        "ALLOWED_HOSTS": "factcheck.example",
        "SITE_URL": "https://factcheck.example",
        **env,
    }


def the_test_database_url() -> str:
    """settings.DATABASE_URL, pointed at the test database (pytest-django renamed it in the connection's
    settings): a server in a subprocess reaches it the same way. Needs the database (`django_db_blocker`)."""
    url = urlsplit(django_settings.DATABASE_URL)
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


@contextlib.contextmanager
def production_server(
    django_db_blocker, static_root: Path, log_dir: Path, *, workers: int = 1, **env: str
) -> Iterator[Server]:
    """gunicorn with the production settings (DEBUG off) on the test database, stopped on leaving; `env`
    overrides its environment (CONN_MAX_AGE is 0 unless given: each request opens its own connection, so
    nothing is left open when a test empties the tables)."""
    with django_db_blocker.unblock():
        database_url = the_test_database_url()
    env = (
        production_env(
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(static_root),
            DATABASE_URL=database_url,
            CONN_MAX_AGE="0",
            LOG_LEVEL="ERROR",
        )
        | env
    )
    running = Server(env, log_dir / "gunicorn.log", workers=workers)
    try:
        running.wait_until_serving()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """A STATIC_ROOT filled by the real `collectstatic` (about 4 s), as the Docker image's build does.
    Once per run: every production server of the suite serves it."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = production_env(STATIC_ROOT=str(root), DATABASE_URL="postgres://unused@localhost/unused")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return root


# gunicorn 24+ opens a control socket in the user's home, one shared by every server: none here.
_NO_CONTROL_SOCKET = (
    ["--no-control-socket"]
    if any(setting.name == "control_socket_disable" for setting in gunicorn.config.KNOWN_SETTINGS)
    else []
)


class Server:
    """A gunicorn serving factcheck.wsgi on 127.0.0.1, on a port of its own; its stdout and stderr are the log.

    The port is bound here and handed to gunicorn (no other process can take it in between); the workers and
    their threads run requests at once, each on its own database connection.
    """

    host = "127.0.0.1"

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1, threads: int = 1) -> None:
        self.log = log
        with socket.create_server((self.host, 0)) as listener, log.open("wb") as output:
            self.port = listener.getsockname()[1]
            options = [
                f"--bind=fd://{listener.fileno()}",
                f"--workers={workers}",
                f"--threads={threads}",
                "--graceful-timeout=2",
                *_NO_CONTROL_SOCKET,
            ]
            self.process = subprocess.Popen(  # noqa: S603 (our own app)
                [sys.executable, "-m", "gunicorn", "factcheck.wsgi", *options],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=[listener.fileno()],
            )
        # Only gunicorn holds the socket now: once it exits, a connection is refused instead of waiting.

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 30
    ) -> tuple[http.client.HTTPResponse, bytes, float]:
        """One plain-HTTP request: the response, its body and the seconds it took."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return response, body, time.monotonic() - started

    def wait_until_serving(self, deadline_seconds: float = 60) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()}"
                )
            try:
                self.request("/healthz", timeout=5)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {deadline_seconds} s:\n{self.log.read_text()}")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged after `offset` (a `log_size()`)."""
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

from __future__ import annotations

import http.client
import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import gunicorn.config
import pytest
from django.core.management import call_command
from django.db import connection

from factcheck.abuse import AnonymousClientThrottle


@pytest.fixture(autouse=True)
def _api_throttle_off(settings):
    """The API's throttle of anonymous clients is off in tests (every test client is one client, 127.0.0.1),
    so a test may make as many requests as it needs and the pinned query counts are the views' own.

    tests/test_throttling.py turns it on with the `anon_rate` fixture, and pins what it adds per request.
    """
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None}}


@pytest.fixture
def anon_rate(settings, db, monkeypatch):
    """Turn the API's throttle of anonymous clients on at a rate, such as "3/minute", with no client seen yet.

    Its table is not a model's, so a transactional test's flush would leave it as it was: it is emptied here.
    The prune's request count starts again, so the query counts a test pins do not depend on test order.
    """
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM factcheck_api_throttle")
    monkeypatch.setattr(AnonymousClientThrottle, "_requests", itertools.count(1))

    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": rate}}

    return set_rate


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


def production_env(**env: str) -> dict[str, str]:
    """The environment of a production start: DEBUG off, a good key, nothing inherited that would change it."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "DEBUG",
                "SECRET_KEY",
                "DATABASE",
                "SECURE_",
                "STATIC_ROOT",
                "ALLOWED_HOSTS",
                "SITE_URL",
                "ORGANIZATION_URL",
            )
        )
    }
    return {
        **inherited,
        "DEBUG": "false",
        "SECRET_KEY": GOOD_SECRET_KEY,
        "ALLOWED_HOSTS": "factcheck.example",
        "SITE_URL": "https://factcheck.example",
        **env,
    }


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """A STATIC_ROOT filled by the real `collectstatic` (about 4 s), as the Docker image's build does."""
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


class Server:
    """A gunicorn serving factcheck.wsgi on 127.0.0.1; its stderr is the log."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = unused_port()
        self.log = log
        options = ["--workers", "1", "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "2"]
        if any(setting.name == "control_socket_disable" for setting in gunicorn.config.KNOWN_SETTINGS):
            options.append(
                "--no-control-socket"
            )  # gunicorn 24+ would share one in ~/.gunicorn between servers
        with log.open("w") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 (our own app)
                [sys.executable, "-m", "gunicorn", "factcheck.wsgi", *options],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def request(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[http.client.HTTPResponse, bytes, float]:
        """One plain-HTTP request: the response, its body and the seconds it took."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.monotonic()
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body, time.monotonic() - started

    def wait_until_serving(self, deadline_seconds: float = 30) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                self.request("/healthz")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {deadline_seconds} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

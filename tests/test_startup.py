"""A production start that cannot work stops at once with one line saying why: gunicorn and manage.py."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, Server, production_env

UNUSED_DATABASE = "postgres://unused@127.0.0.1:1/unused"


def test_a_production_server_inherits_no_setting_from_the_developers_shell(monkeypatch):
    # Each would change what the servers of the tests answer: client addresses, HSTS, the ClaimReview author,
    # the number of workers.
    leaked = {"NUM_PROXIES", "SECURE_HSTS_PRELOAD", "ORGANIZATION_URL", "LOG_LEVEL", "WEB_CONCURRENCY"}
    for name in leaked:
        monkeypatch.setenv(name, "2")

    env = production_env(LOG_LEVEL="ERROR")

    assert leaked & set(env) == {"LOG_LEVEL"}
    assert env["LOG_LEVEL"] == "ERROR"
    assert env["PATH"] == os.environ["PATH"]  # the rest of the shell is kept


def _gunicorn_refuses(tmp_path, **env: str) -> list[str]:
    """Start gunicorn, expect it to stop by itself; return what it printed that is not its own log."""
    server = Server(production_env(DATABASE_URL=UNUSED_DATABASE, **env), tmp_path / "gunicorn.log")
    try:
        returncode = server.process.wait(timeout=30)  # not a worker restarted in a loop
    finally:
        if server.process.poll() is None:
            server.stop()
    log = server.log.read_text()
    assert returncode != 0
    assert "Traceback" not in log
    return [line for line in log.splitlines() if not line.startswith("[")]  # gunicorn's lines start "[date]"


def test_gunicorn_refuses_a_short_secret_key_in_one_line(tmp_path):
    printed = _gunicorn_refuses(tmp_path, SECRET_KEY="short-but-not-empty", STATIC_ROOT=str(tmp_path))

    assert len(printed) == 1
    assert printed[0].startswith("factcheck: SECRET_KEY must be at least 50 characters")


def test_gunicorn_refuses_to_serve_without_collected_static_files(tmp_path):
    printed = _gunicorn_refuses(tmp_path, STATIC_ROOT=str(tmp_path / "never-collected"))

    assert printed == [
        "factcheck: the static files are not collected: no staticfiles.json in STATIC_ROOT "
        f"({tmp_path / 'never-collected'}), so every page would be a 500."
        " Run: python manage.py collectstatic --noinput"
    ]


def _manage_py(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=production_env(DATABASE_URL=UNUSED_DATABASE, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_system_check_stops_manage_py_without_collected_static_files(tmp_path):
    result = _manage_py("check", STATIC_ROOT=str(tmp_path))

    assert result.returncode == 1
    assert "(factcheck.E001) The static files are not collected" in result.stderr
    assert "Run: python manage.py collectstatic --noinput" in result.stderr


def test_collectstatic_itself_runs_and_then_the_check_passes(collected_static):
    # collected_static ran the real collectstatic with the same production settings (the check did not stop it).
    result = _manage_py("check", "--deploy", "--fail-level", "WARNING", STATIC_ROOT=str(collected_static))

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (2 silenced)." in result.stdout

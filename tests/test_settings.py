from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_settings(
    *, show: str = "s.DEBUG, s.SESSION_COOKIE_SECURE", **env: str
) -> subprocess.CompletedProcess[str]:
    """Import the settings in a new process with this environment, and print `show` (s is the module)."""
    ignored = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "NUM_PROXIES", "API_ANON_THROTTLE_RATE", "LOGIN_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
    environment.update({"DATABASE_URL": "postgres://nobody@localhost/nothing", **env})
    return subprocess.run(  # noqa: S603 (our own settings module; `show` is the tests' own expression)
        [sys.executable, "-c", f"import factcheck.settings as s; print({show})"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_the_development_secret_key():
    from factcheck.settings import DEVELOPMENT_SECRET_KEY

    result = _load_settings(DEBUG="false", SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_settings_are_hardened_with_a_real_key():
    result = _load_settings(DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_a_malformed_boolean_is_refused_loudly():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_a_database_other_than_postgresql_is_refused():
    result = _load_settings(DEBUG="true", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "must point at PostgreSQL" in result.stderr


def test_the_abuse_defences_default_to_a_proxy_in_production_and_none_in_development():
    show = "s.NUM_PROXIES, s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon'], s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME"
    production = _load_settings(show=show, DEBUG="false", SECRET_KEY="k3y-" + "abcdefghij" * 5)
    assert production.stdout.split() == ["1", "60/minute", "5", "0:15:00"], production.stderr
    development = _load_settings(show=show, DEBUG="true")
    assert development.stdout.split()[0] == "0", development.stderr
    chosen = _load_settings(
        show=show,
        DEBUG="true",
        NUM_PROXIES="2",
        API_ANON_THROTTLE_RATE="1000/hour",
        LOGIN_FAILURE_LIMIT="10",
        LOGIN_COOLOFF_MINUTES="60",
    )
    assert chosen.stdout.split() == ["2", "1000/hour", "10", "1:00:00"], chosen.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_ANON_THROTTLE_RATE": "60 per minute"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"API_ANON_THROTTLE_RATE": "0/minute"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"API_ANON_THROTTLE_RATE": "60/fortnight"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"NUM_PROXIES": "-1"}, "NUM_PROXIES must be 0 or more"),
        ({"NUM_PROXIES": "one"}, "NUM_PROXIES must be a whole number"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "must be 1 or more"),
        ({"LOGIN_COOLOFF_MINUTES": "0"}, "must be 1 or more"),
    ],
)
def test_a_malformed_abuse_setting_is_refused_loudly(env, message):
    result = _load_settings(DEBUG="true", **env)
    assert result.returncode != 0
    assert message in result.stderr

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


GOOD_KEY = "k3y-" + "abcdefghij" * 5


def _load_settings(
    *, show: str = "s.DEBUG, s.SESSION_COOKIE_SECURE", **env: str
) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with this environment, printing `show` (of settings `s`)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                *("DEBUG", "SECRET_KEY", "DATABASE", "SECURE_", "SITE_URL", "ORGANIZATION_URL"),
                *(
                    "NUM_PROXIES",
                    "API_ANON_THROTTLE_RATE",
                    "API_KEY_THROTTLE_RATE",
                    "LOGIN_",
                    "REVIEW_REQUIRED",
                ),
            )
        )
    }
    environment.update({"DATABASE_URL": "postgres://nobody@localhost/nothing", **env})
    return subprocess.run(  # noqa: S603 (the tests' own expression)
        [sys.executable, "-c", f"import factcheck.settings as s; print({show})"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _manage_py_check(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL")}
    environment.update({"DATABASE_URL": "postgres://nobody@localhost/nothing", **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "Set SECRET_KEY to a long random value (DEBUG is off)" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "",
        "a-49-character-key-0123456789abcdefghijklmnopqrst",  # one short of Django's 50
        "abcd" * 20,  # long, but 4 different characters
        "django-insecure-" + "0123456789" * 5,  # Django's mark of a generated development key
    ],
)
def test_manage_py_refuses_a_weak_secret_key_in_one_line(key: str):
    result = _manage_py_check(DEBUG="false", SECRET_KEY=key)

    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith("factcheck: ")
    assert "SECRET_KEY" in line
    assert "secrets.token_urlsafe(50)" in line


def test_production_refuses_the_development_secret_key():
    from factcheck.settings import DEVELOPMENT_SECRET_KEY

    result = _manage_py_check(DEBUG="false", SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    assert result.returncode == 1
    assert result.stderr.startswith("factcheck: SECRET_KEY must be at least 50 characters")


def test_production_settings_are_hardened_with_a_real_key():
    result = _load_settings(DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_hsts_covers_subdomains_and_asks_for_preload_only_when_the_operator_opts_in():
    show = "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD"
    default = _load_settings(show=show, DEBUG="false", SECRET_KEY=GOOD_KEY)
    opted_in = _load_settings(
        show=show,
        DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )
    assert default.stdout.split() == ["31536000", "False", "False"], default.stderr
    assert opted_in.stdout.split() == ["31536000", "True", "True"], opted_in.stderr


def test_the_database_connect_timeout_defaults_to_five_seconds_and_follows_its_variable():
    show = "s.DATABASES['default']['OPTIONS']['connect_timeout']"
    assert _load_settings(show=show, DEBUG="true").stdout.strip() == "5"
    assert _load_settings(show=show, DEBUG="true", DATABASE_CONNECT_TIMEOUT="2").stdout.strip() == "2"
    from_url = _load_settings(
        show=show, DEBUG="true", DATABASE_URL="postgres://nobody@localhost/nothing?connect_timeout=9"
    )
    assert from_url.stdout.strip() == "9"
    refused = _load_settings(show=show, DEBUG="true", DATABASE_CONNECT_TIMEOUT="soon")
    assert "DATABASE_CONNECT_TIMEOUT must be a whole number" in refused.stderr


def test_an_empty_variable_counts_as_unset():
    result = _load_settings(show="s.FACTCHECK_ORGANIZATION_NAME", DEBUG="true", ORGANIZATION_NAME="")
    assert result.stdout.strip() == "factcheck"


def test_a_malformed_boolean_is_refused_loudly():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_review_is_required_unless_a_newsroom_of_one_turns_it_off():
    show = "s.REVIEW_REQUIRED"
    assert _load_settings(show=show, DEBUG="true").stdout.strip() == "True"
    assert _load_settings(show=show, DEBUG="true", REVIEW_REQUIRED="").stdout.strip() == "True"
    assert _load_settings(show=show, DEBUG="true", REVIEW_REQUIRED="false").stdout.strip() == "False"
    refused = _load_settings(show=show, DEBUG="true", REVIEW_REQUIRED="sometimes")
    assert refused.returncode != 0
    assert "REVIEW_REQUIRED must be true or false" in refused.stderr


def test_a_database_other_than_postgresql_is_refused():
    result = _load_settings(DEBUG="true", DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "must point at PostgreSQL" in result.stderr


@pytest.mark.parametrize("name", ["SITE_URL", "ORGANIZATION_URL"])
@pytest.mark.parametrize(
    "value", ["factcheck.example", "ftp://factcheck.example", "https://", "127.0.0.1:8000"]
)
def test_a_site_or_organisation_url_that_is_no_http_url_is_refused_loudly(name, value):
    result = _load_settings(DEBUG="true", **{name: value})
    assert result.returncode != 0
    assert f"{name} must be an http:// or https:// URL" in result.stderr


def test_site_and_organisation_urls_are_read_as_given():
    result = _load_settings(
        DEBUG="true",
        SITE_URL="https://facts.example/",
        ORGANIZATION_URL="https://newsroom.example/about/",
        show="s.FACTCHECK_SITE_URL, s.FACTCHECK_ORGANIZATION_URL",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["https://facts.example", "https://newsroom.example/about/"]


def test_the_abuse_defences_default_to_a_proxy_in_production_and_none_in_development():
    show = (
        "s.NUM_PROXIES, s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon'], s.AXES_FAILURE_LIMIT, "
        "s.AXES_COOLOFF_TIME, s.API_KEY_THROTTLE_RATE"
    )
    production = _load_settings(show=show, DEBUG="false", SECRET_KEY="k3y-" + "abcdefghij" * 5)
    assert production.stdout.split() == ["1", "60/minute", "5", "0:15:00", "600/minute"], production.stderr
    development = _load_settings(show=show, DEBUG="true")
    assert development.stdout.split()[0] == "0", development.stderr
    chosen = _load_settings(
        show=show,
        DEBUG="true",
        NUM_PROXIES="2",
        API_ANON_THROTTLE_RATE="1000/hour",
        LOGIN_FAILURE_LIMIT="10",
        LOGIN_COOLOFF_MINUTES="60",
        API_KEY_THROTTLE_RATE="50/second",
    )
    assert chosen.stdout.split() == ["2", "1000/hour", "10", "1:00:00", "50/second"], chosen.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_ANON_THROTTLE_RATE": "60 per minute"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"API_ANON_THROTTLE_RATE": "0/minute"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"API_ANON_THROTTLE_RATE": "60/fortnight"}, "API_ANON_THROTTLE_RATE must be requests per period"),
        ({"API_KEY_THROTTLE_RATE": "lots"}, "API_KEY_THROTTLE_RATE must be requests per period"),
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

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_settings(
    show: str = "s.DEBUG, s.SESSION_COOKIE_SECURE", **env: str
) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with this environment, printing `show` (of settings `s`)."""
    ours = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "SITE_URL", "ORGANIZATION_URL")
    environment = {k: v for k, v in os.environ.items() if k not in ours}
    environment.update({"DATABASE_URL": "postgres://nobody@localhost/nothing", **env})
    return subprocess.run(  # noqa: S603 (this interpreter, with the tests' own expression)
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

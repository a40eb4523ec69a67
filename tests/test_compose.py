"""docker-compose.yml as compose reads it: what production starts with (README: Running in production)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
# Read by settings.py but fixed by the image: it uses DATABASE_URL's server, not the embedded one, and
# collectstatic ran when it was built.
FIXED_BY_THE_IMAGE = {"FACTCHECK_DATA_DIR", "STATIC_ROOT"}


def test_gunicorn_is_published_on_the_hosts_loopback_only():
    # Django trusts X-Forwarded-Proto and X-Forwarded-For: only the proxy on the same host may reach it.
    assert SERVICES["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert [name for name, service in SERVICES.items() if "ports" in service] == ["web"]


def test_every_setting_the_readme_lists_can_be_set_through_compose():
    settings_py = (ROOT / "factcheck" / "settings.py").read_text()
    read = set(re.findall(r'env_[a-z]+\("([A-Z_]+)"', settings_py))
    passed = set(SERVICES["web"]["environment"])

    assert {"SECRET_KEY", "SITE_URL", "ORGANIZATION_URL", "TIME_ZONE"} <= read
    assert read - FIXED_BY_THE_IMAGE - passed == set()
    assert "WEB_CONCURRENCY" in passed  # the image's command reads it


def test_the_worker_runs_the_web_image_with_the_same_settings():
    # Webhooks and overdue events are sent by it (README: Webhooks): same build, same environment, after
    # web's migrate, and nothing published.
    worker = SERVICES["worker"]
    assert worker["build"] == SERVICES["web"]["build"]
    assert worker["environment"] == SERVICES["web"]["environment"]
    # Four jobs at once: a slow receiver does not hold up the other deliveries and the periodic tasks.
    assert worker["command"] == ["python", "manage.py", "procrastinate", "worker", "--concurrency=4"]
    assert worker["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert "ports" not in worker
    assert worker["restart"] == "unless-stopped"

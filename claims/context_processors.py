"""Template context every page gets (listed in settings.TEMPLATES)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from claims.site_urls import organization_url, site_paths


def site(request: HttpRequest) -> dict[str, Any]:
    """The publishing organisation's name and URL, for the header and footer, and the paths of the pages
    every page may link to (site_urls.site_paths). No query."""
    return {
        "organization_name": settings.FACTCHECK_ORGANIZATION_NAME,
        "organization_url": organization_url(request),
        "paths": site_paths(),
    }

"""Template context every page gets (listed in settings.TEMPLATES)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """The publishing organisation's name and URL, for the header, footer and ClaimReview."""
    return {
        "organization_name": settings.FACTCHECK_ORGANIZATION_NAME,
        "organization_url": settings.FACTCHECK_ORGANIZATION_URL,
    }

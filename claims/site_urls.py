"""Absolute links to this site, for what leaves it: ClaimReview's url, the API's html_url, feeds."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """The public absolute URL of a site path: on SITE_URL when set, else on the request's host."""
    if settings.FACTCHECK_SITE_URL:
        return settings.FACTCHECK_SITE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path

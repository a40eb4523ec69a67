"""Absolute links to this site, for what leaves it: ClaimReview's url, the API's html_url, feeds; and the
deployment check that says when they would be guessed from each request."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """The public absolute URL of a site path: on SITE_URL when set, else on the request's host."""
    if settings.FACTCHECK_SITE_URL:
        return settings.FACTCHECK_SITE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def organization_url(request: HttpRequest | None = None) -> str:
    """The publishing organisation's URL (the footer's link, ClaimReview's author): ORGANIZATION_URL when
    set, else this site's own root, on SITE_URL or the request's host as absolute_url() builds it."""
    return settings.FACTCHECK_ORGANIZATION_URL or absolute_url("/", request)


@checks.register(checks.Tags.urls, deploy=True)
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: a production site should say where it is published.

    Without SITE_URL, every absolute link the site publishes (ClaimReview's url, the footer, the API's
    html_url) is built from the Host header of each request, which behind a proxy may be an internal name;
    and what leaves the site with no request (the events feed's and webhooks' claim urls, written once when
    each event happens, and the exports of manage.py export_claims) can only carry the page's path.
    """
    if settings.FACTCHECK_SITE_URL:
        return []
    return [
        checks.Warning(
            "SITE_URL is not set: the site's absolute links are built from each request's Host header, "
            "and events, webhooks and exported files carry claim pages as paths (/claims/...), not URLs.",
            hint="Set SITE_URL to the site's public address, such as https://factcheck.example.",
            id="factcheck.W001",
        )
    ]

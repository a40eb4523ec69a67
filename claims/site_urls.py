"""Absolute links to this site, for what leaves it: ClaimReview's url, the API's html_url, feeds; and the
deployment check that says when they would be guessed from each request."""

from __future__ import annotations

import functools
import re
from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse
from django.urls.converters import SlugConverter

# What reverse() accepts for a <slug:...> (a slug it would refuse or have to quote goes to reverse() itself).
_SLUG = re.compile(SlugConverter.regex)
# Stands for the slug in the one path reversed per view: made of slug characters, and no real slug's length.
SLUG_MARK = "slug-placeholder-" * 20


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """The public absolute URL of a site path: on SITE_URL when set, else on the request's host."""
    if settings.FACTCHECK_SITE_URL:
        return settings.FACTCHECK_SITE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def slug_path(viewname: str, slug: str) -> str:
    """reverse(viewname, kwargs={"slug": slug}) for a page whose one argument is a slug (a claim's, a
    speaker's), without working the URL patterns out again for every link: the path around the slug is
    reversed once per process (per script prefix and URL configuration), and the slug set in its place. A list
    of fifty claims shows a hundred such links.
    """
    if not _SLUG.fullmatch(slug):
        return reverse(viewname, kwargs={"slug": slug})
    before, after = path_around(viewname, "slug", SLUG_MARK)
    return f"{before}{slug}{after}"


def path_around(viewname: str, kwarg: str, mark: str, format: str | None = None) -> tuple[str, str]:
    """The path of `viewname` before and after its one argument `kwarg` (with `format`, a format suffix's
    too), given as `mark`: a value of the argument's kind that no URL of it holds otherwise. Reversed once
    per process (per script prefix and URL configuration); a row's own value then goes between the two."""
    return _around(viewname, kwarg, mark, format, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=64)
def _around(
    viewname: str, kwarg: str, mark: str, format: str | None, script_prefix: str, urlconf: str
) -> tuple[str, str]:
    """The cache's key holds what reverse() reads itself (the script prefix, the URL configuration)."""
    kwargs = {kwarg: mark} if format is None else {kwarg: mark, "format": format}
    before, _, after = reverse(viewname, urlconf=urlconf, kwargs=kwargs).partition(mark)
    return before, after


# The public pages every page may link to without an argument: the header's, the lists', the site's feeds.
SITE_PAGES = ("home", "claim-list", "correction-list", "correction-feed", "event-feed")


def site_paths() -> dict[str, str]:
    """The paths of SITE_PAGES by name ("claim-list" as claim_list), for templates: `{{ paths.claim_list }}`
    instead of `{% url 'claims:claim-list' %}`, which works the URL patterns out again at every use (six
    to a claim page). Reversed once per process (per script prefix and URL configuration)."""
    return _site_paths(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=16)
def _site_paths(script_prefix: str, urlconf: str) -> dict[str, str]:
    return {name.replace("-", "_"): reverse(f"claims:{name}", urlconf=urlconf) for name in SITE_PAGES}


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

"""Conditional requests and cache headers for the public pages and the read-only API.

Every public page and API response (GET or HEAD) is validated by the site clock (claims.models.SiteClock):
one row the database moves, at commit, with every change to what anonymous readers can see. Reading it is
one indexed query, so a client (or a CDN) that already has the current response gets a 304 without the view
running: no serialisation, no list query, no throttle. README.md ("Caching and conditional requests") says
what a client and a CDN in front may rely on.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from claims.models import SiteClock, SiteClockReading
from factcheck.abuse import throttle_ahead_of_view
from factcheck.health import is_connection_failure

# The URL namespaces this covers: the public pages (claims.urls) and the API under /api/v1/ (claims.api.urls).
# Not the admin, not the API's schema and docs page (static for a release; left to the browser), not the
# health probes (answered before any view).
PUBLIC_NAMESPACES = frozenset({"claims", "api"})
# Views in those namespaces that are never cached: the staff's preview of a draft verdict (never_cache).
NEVER_CACHED = frozenset({"claims:verdict-preview"})

# How long the clock must have stood still before Last-Modified is sent. An HTTP date has whole seconds,
# so two changes within one second would share a Last-Modified, and a client holding the first would be
# told the second is not modified; and a transaction commits a moment after its bump's time is read. Once
# the clock has been still this long, any later change is dated at least a second after the one sent. The
# ETag, exact at every change, is sent always (and takes precedence when a client sends both).
LAST_MODIFIED_SETTLE = timedelta(seconds=5)

# The request headers get_conditional_response decides on: without any of them, the view answers.
PRECONDITIONS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)


# What a release's responses are made of besides the data: its code and templates, and the settings they
# print. A deploy that changes any of them changes every ETag, so no client or CDN keeps an old page.
RELEASE_SOURCES = ("claims", "factcheck")
RELEASE_SETTINGS = (
    "FACTCHECK_SITE_URL",
    "FACTCHECK_ORGANIZATION_URL",
    "FACTCHECK_ORGANIZATION_NAME",
    "TIME_ZONE",
    "LANGUAGE_CODE",
    "STATIC_URL",
)


@functools.cache
def release_digest() -> str:
    """A digest of this release's Python code and templates (the same in every worker process of one
    deploy, read once per process) and of the settings its responses show."""
    digest = hashlib.blake2b(digest_size=8)
    root = Path(__file__).resolve().parent.parent
    for package in RELEASE_SOURCES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".html", ".txt", ".xml") and "migrations" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    for name in RELEASE_SETTINGS:
        digest.update(f"{name}={getattr(settings, name, None)!r}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Validators:
    """A response's ETag and Last-Modified (seconds since the epoch, or None while the clock settles)."""

    etag: str
    last_modified: int | None


def is_anonymous(request: HttpRequest) -> bool:
    """No logged-in user and no credentials of any other kind (an API key's Authorization header).

    No query without a session cookie; with one, the session and user lookups the view would make anyway.
    """
    return "HTTP_AUTHORIZATION" not in request.META and not request.user.is_authenticated


def is_public_view(request: HttpRequest) -> bool:
    """True for a public page or an API endpoint (after URL resolution). No query."""
    match = request.resolver_match
    return (
        match is not None
        and match.namespace in PUBLIC_NAMESPACES
        and match.view_name not in NEVER_CACHED
        and request.method in ("GET", "HEAD")
    )


def validators(request: HttpRequest, clock: SiteClockReading | None = None) -> Validators:
    """The ETag and Last-Modified of the response `request` would get, from the site clock (`clock`, or one
    query to read it).

    The ETag is weak (the same content, not necessarily the same bytes) and digests what the response
    depends on besides the data: the clock's version and time (the time too, so a clock restored or
    re-created at a lower version never repeats a tag), today's date in the site's time zone (what is
    overdue changes at midnight), the path and query string, and for the API the negotiated format (the
    Accept header: JSON or the browsable HTML), and the release (release_digest: a deploy that changes a
    template, a serializer or a shown setting changes every tag). Last-Modified is the later of the clock's time and the start
    of today, sent once the clock has settled (LAST_MODIFIED_SETTLE).
    """
    clock = clock or SiteClock.objects.read()
    today = timezone.localdate()
    start_of_today = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    accept = request.META.get("HTTP_ACCEPT", "") if request.resolver_match.namespace == "api" else ""
    key = "\n".join(
        [
            release_digest(),
            str(clock.version),
            clock.changed_at.isoformat(),
            today.isoformat(),
            request.path,
            request.META.get("QUERY_STRING", ""),
            accept,
        ]
    )
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    last_modified = max(clock.changed_at, start_of_today)
    settled = clock.read_at is not None and clock.read_at - last_modified >= LAST_MODIFIED_SETTLE
    return Validators(
        etag=f'W/"{clock.version}-{digest}"',
        last_modified=int(last_modified.timestamp()) if settled else None,
    )


def set_public_cache_headers(response: HttpResponse, found: Validators, *, api: bool) -> None:
    """ETag, Last-Modified, Cache-Control (public, CACHE_MAX_AGE, stale-while-revalidate) and Vary."""
    response["ETag"] = found.etag
    if found.last_modified is not None:
        response["Last-Modified"] = http_date(found.last_modified)
    elif response.has_header("Last-Modified"):
        # The view's own (a syndication feed's newest entry): not sent while the clock settles, either.
        del response["Last-Modified"]
    patch_cache_control(
        response,
        public=True,
        max_age=settings.CACHE_MAX_AGE,
        stale_while_revalidate=settings.CACHE_STALE_WHILE_REVALIDATE,
    )
    # Cookie: a logged-in reader's response is private (below), so a shared cache must not hand the
    # anonymous one to them, nor theirs to anyone. Accept: the API's JSON and browsable HTML share a URL.
    patch_vary_headers(response, ["Cookie", "Accept"] if api else ["Cookie"])


class ConditionalGetMiddleware:
    """304 Not Modified before the view, from the site clock, for anonymous GET/HEAD requests of the public
    pages and the API; public cache headers on their 200s; never a shared cache for anyone logged in.

    Place after AuthenticationMiddleware (it asks who the user is). For each covered request:
    - anonymous: one query (the clock); a matching If-None-Match, or without one an If-Modified-Since not
      older than Last-Modified, is answered 304 with no body and the view is not called. Otherwise the
      view answers, and a 200 gets ETag, Last-Modified, `Cache-Control: public, max-age=CACHE_MAX_AGE,
      stale-while-revalidate=CACHE_STALE_WHILE_REVALIDATE` and Vary; any other status gets
      `Cache-Control: no-store` unless the view set its own (an error or a 429 is never kept by a CDN).
    - logged in, or with an Authorization header: no query, no 304, `Cache-Control: private, no-store`
      (so is any response that sets a cookie).

    The clock is read before the view, so a response's data is never older than its validators: a change
    that commits in between makes the data newer than the tag, and the next request gets a new tag.
    A lost database is left to the view (its 503): the clock's read failing only skips the shortcut.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        coverage: _Coverage | None = getattr(request, "_public_cache", None)
        if coverage is None:
            return response
        if coverage.private:
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ["Cookie"])
        elif coverage.found is None:
            # The clock could not be read (the view's 503 says why): no validators, no public caching.
            patch_cache_control(response, no_store=True)
        elif response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            # A response that sets a cookie, or holds this client's CSRF token (the browsable API's forms:
            # Django flags every use of the token, and the CSRF middleware, outside this one, then sets
            # its cookie), is that one client's: never stored by a shared cache.
            patch_cache_control(response, private=True, no_store=True)
        elif response.status_code == 200:
            set_public_cache_headers(response, coverage.found, api=coverage.api)
        elif response.status_code != 304 and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict
    ) -> HttpResponse | None:
        if not is_public_view(request):
            return None
        api = request.resolver_match.namespace == "api"
        try:
            if not is_anonymous(request):
                request._public_cache = _Coverage(found=None, api=api, private=True)
                return None
            found = validators(request, self.read_clock(request, view, api=api))
        except DatabaseError as error:
            if not is_connection_failure(error):
                raise
            request._public_cache = _Coverage(found=None, api=api, private=False)
            return None
        request._public_cache = _Coverage(found=found, api=api, private=False)
        if not PRECONDITIONS & request.META.keys():
            return None  # nothing to decide: the view answers
        # The headers a 200 would carry, for get_conditional_response to copy onto a 304 (RFC 9110 15.4.5).
        template = HttpResponse()
        set_public_cache_headers(template, found, api=api)
        conditional = get_conditional_response(
            request, etag=found.etag, last_modified=found.last_modified, response=template
        )
        # The template back means no precondition decided: the view answers. Else a 304 (or a 412 for a
        # failed If-Match), with no body.
        return None if conditional is template else conditional

    def read_clock(self, request: HttpRequest, view: Callable, *, api: bool) -> SiteClockReading:
        """The site clock, for an anonymous covered request. One query.

        An API request with no precondition can never be answered 304 here: the view answers it, and its
        anonymous throttle (factcheck.abuse) decides on it first, one more round trip. So the throttle's
        upsert runs in the clock's statement instead (SiteClock.objects.read_after), and the throttle finds
        its decision on the request (`throttle_waits`). A request that may be answered 304 still never
        counts against the throttle.
        """
        ahead = (
            throttle_ahead_of_view(request, view) if api and not PRECONDITIONS & request.META.keys() else None
        )
        if ahead is None:
            return SiteClock.objects.read()
        key, sql, params = ahead
        clock, wait = SiteClock.objects.read_after(sql, params)
        request.throttle_waits = {key: wait}
        return clock


@dataclass(frozen=True)
class _Coverage:
    """What process_view decided for a covered request, for the response on its way out."""

    found: Validators | None
    api: bool
    private: bool

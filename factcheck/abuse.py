"""Defences against abuse: who a client is, the API's throttle for anonymous clients, the admin's lockout page.

The API throttle (DRF) and the admin's login lockout (django-axes) identify a client the same way,
by client_address(); README.md ("Abuse") says how to set NUM_PROXIES behind a proxy.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, SimpleRateThrottle

from claims.prepared import execute_prepared

# An IPv6 client usually holds a whole /64 (one address per device, or a new one per connection with
# privacy extensions): counting per address would give it billions of fresh starts.
IPV6_CLIENT_PREFIX = 64


def client_address(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, or with NUM_PROXIES > 0 the address the outermost trusted proxy
    saw (DRF's reading of X-Forwarded-For). An IPv6 address stands for its /64 network's first address.

    A value that is not an IP address (a misbehaving proxy) falls back to REMOTE_ADDR, so what django-axes
    stores is always an address. No query.
    """
    for candidate in (BaseThrottle().get_ident(request), request.META.get("REMOTE_ADDR", "")):
        try:
            address = ipaddress.ip_address((candidate or "").strip())
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False).network_address)
        return str(address)
    return "0.0.0.0"  # noqa: S104 - no address at all (a Unix-socket server without a proxy): one shared client


# The decision on a client's request (DatabaseRateThrottle): "now" is read once, when the client's row is
# locked (clock_timestamp(), not the statement's start), so requests that queue for the row are judged in the
# order they get it. Returns the seconds to wait (0: the request passes).
UPSERT = """
    INSERT INTO factcheck_api_throttle AS client (key, tat, wait)
    VALUES (%(key)s, clock_timestamp() + %(emission)s, interval '0')
    ON CONFLICT (key) DO UPDATE SET (tat, wait) = (
        SELECT
            CASE WHEN client.tat - %(burst)s <= now
                THEN greatest(client.tat, now) + %(emission)s
                ELSE client.tat END,
            greatest(client.tat - %(burst)s - now, interval '0')
        FROM (SELECT clock_timestamp() AS now) AS clock
    )
    RETURNING extract(epoch FROM wait)
"""


class DatabaseRateThrottle(SimpleRateThrottle):
    """A DRF throttle whose state is a row of factcheck_api_throttle (claims migration 0012) per client, so
    every process sees it; subclasses say who the client is (get_cache_key) and at what rate (get_rate).

    The generic cell rate algorithm (GCRA): a rate of N per period allows a burst of N, then one request
    every period/N. Each client's row holds its theoretical arrival time (TAT): a request passes if the TAT is
    at most period - period/N ahead of now, and then moves it period/N later (from now, if it was past); a
    refused request waits until the TAT is that close again.

    One statement per throttled request decides, records and yields the wait (UPSERT, of the client's row;
    the wait is zero if the request passes): for an anonymous read that only the view can answer, the caching
    middleware runs it with its read of the site clock (ahead_of_view), else allow_request does. Its row lock makes concurrent requests of one client take
    turns, so a burst lets exactly N through; the database's clock is the only clock, so every process agrees.
    """

    # Every this many throttled requests a process deletes the rows that are past (a client whose TAT is
    # past is as if never seen): the table holds the clients of the last period, plus at most this many
    # rows per process.
    PRUNE_EVERY = 1000
    _requests = itertools.count(1)

    def allow_request(self, request: HttpRequest, view: object) -> bool:
        """True if the request may pass. One query for a throttled request (two every PRUNE_EVERY-th of
        the process), none when the caching middleware ran this throttle's upsert already (ahead_of_view);
        none when the throttle is off or the request is not this throttle's."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        decided = getattr(request, "throttle_waits", {})
        if self.key in decided:
            self.seconds_to_wait = decided.pop(self.key)
        else:
            # A prepared statement (claims.prepared.execute_prepared): planned once per connection.
            ((self.seconds_to_wait,),) = execute_prepared(connection, *self.upsert())
        if next(DatabaseRateThrottle._requests) % self.PRUNE_EVERY == 0:
            # SKIP LOCKED: a row another request holds is in use, and the prune never waits (so two prunes
            # cannot deadlock).
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    DELETE FROM factcheck_api_throttle WHERE key IN (
                        SELECT key FROM factcheck_api_throttle WHERE tat < statement_timestamp()
                        FOR UPDATE SKIP LOCKED
                    )
                    """
                )
        return self.seconds_to_wait == 0

    def wait(self) -> float:
        """Seconds until the refused client may make its next request. No query."""
        return float(self.seconds_to_wait)

    def upsert(self) -> tuple[str, dict[str, Any]]:
        """The statement that decides on the request of self.key, records it and returns the wait (UPSERT)."""
        emission = timedelta(seconds=self.duration / self.num_requests)
        burst = timedelta(seconds=self.duration) - emission
        return UPSERT, {"key": self.key, "emission": emission, "burst": burst}

    def ahead_of_view(self, request: HttpRequest) -> tuple[str, str, dict[str, Any]] | None:
        """For an anonymous request that only the view can answer: the client's key and the upsert that
        allow_request would run, for the caching middleware to run with its read of the site clock (one
        round trip instead of two; factcheck.caching). None when the throttle is off or the request is not
        this throttle's."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, None)
        if self.key is None:
            return None
        return (self.key, *self.upsert())


def throttle_ahead_of_view(request: HttpRequest, view: Any) -> tuple[str, str, dict[str, Any]] | None:
    """The one database throttle of DRF view function `view` that applies to `request` (anonymous, without
    credentials: factcheck.caching asks for no other), as DatabaseRateThrottle.ahead_of_view gives it; None
    for a view that is not DRF's, that chooses its throttles per request (get_throttles) or has no such
    throttle, or more than one, for this request."""
    # Imported here: DRF's views import the settings' classes, which import this module.
    from rest_framework.views import APIView

    view_class = getattr(view, "cls", None)
    if view_class is None or view_class.get_throttles is not APIView.get_throttles:
        return None
    found = [
        ahead
        for throttle_class in view_class.throttle_classes
        if issubclass(throttle_class, DatabaseRateThrottle)
        and (ahead := throttle_class().ahead_of_view(request)) is not None
    ]
    return found[0] if len(found) == 1 else None


class AnonymousClientThrottle(DatabaseRateThrottle, AnonRateThrottle):
    """DRF's throttle of anonymous requests (scope "anon", rate API_ANON_THROTTLE_RATE), per client_address(),
    on the database (DatabaseRateThrottle). A signed-in user or an API key's client is not this throttle's."""

    def get_rate(self) -> str | None:
        # Read at request time (DRF reads it once, at import), so a changed setting takes effect.
        from rest_framework.settings import api_settings

        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: HttpRequest) -> str:
        return client_address(request)


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The page a locked-out admin login gets (django-axes' AXES_LOCKOUT_CALLABLE): the admin's look, a 429,
    and Retry-After with the cool-off. No query."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60)
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": minutes,
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response

"""Defences against abuse: who a client is, the API's throttle for anonymous clients, the admin's lockout page.

The API throttle (DRF) and the admin's login lockout (django-axes) identify a client the same way,
by client_address(); README.md ("Abuse") says how to set NUM_PROXIES behind a proxy.
"""

from __future__ import annotations

import ipaddress
import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle, BaseThrottle

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


class AnonymousClientThrottle(AnonRateThrottle):
    """DRF's throttle of anonymous requests (scope "anon", rate API_ANON_THROTTLE_RATE), per client_address().

    Its history lives in the shared cache (PostgreSQL): one read and one write of the client's entry per
    anonymous API request. A throttled request is a 429 with Retry-After (DRF's Throttled).
    """

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

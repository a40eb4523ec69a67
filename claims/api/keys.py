"""API keys: who a key's client is, what it may write, and how fast it may ask.

- `ClientKeyAuthentication` reads `Authorization: Api-Key <key>` (djangorestframework-api-key's header and
  hashing) and makes the request the key's user's: request.user is the user, request.auth the ClientKey. An
  unknown, revoked or expired key, or one whose user is inactive, is a 401 problem with
  `WWW-Authenticate: Api-Key`, on reads too: a client sending a wrong key is told, not served as anonymous.
- `KeyScope(scope)` is the permission of a write: the request must carry a key (signing in to the site is
  for reading; 401 without credentials, 403 with a session), the key must have the scope, and the key's
  user must hold the scope's Django permissions (SCOPE_PERMISSIONS, plus any given). So a key never does
  more than its user may, nor more than it was made for.
- `ClientKeyThrottle`: each key at its own rate (ClientKey.throttle_rate, else API_KEY_THROTTLE_RATE), on
  the anonymous throttle's PostgreSQL storage (factcheck.abuse.DatabaseRateThrottle).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pghistory
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from claims.models import ClientKey, Scope
from factcheck.abuse import DatabaseRateThrottle

KEYWORD = KeyParser.keyword  # "Api-Key"

# The Django permissions each scope's writes take, besides the scope itself.
SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Scope.WRITE_SPEAKERS: ("claims.add_speaker",),
    Scope.WRITE_SOURCES: ("claims.add_source",),
    Scope.WRITE_CLAIMS: ("claims.add_claim",),
    Scope.RECORD_VERDICTS: ("claims.add_verdict", "claims.add_evidence"),
    Scope.PUBLISH_VERDICTS: ("claims.publish_verdict",),
    # The webhooks' own permissions are given where KeyScope("manage_webhooks", ...) is used.
    Scope.MANAGE_WEBHOOKS: (),
}

KEY_SHAPE = re.compile(r"[A-Za-z0-9]{1,8}\.[A-Za-z0-9]{1,64}")
NOT_VALID = "This API key is not valid: unknown or revoked."

NEEDS_A_KEY = (
    f"Writing through the API takes an API key (Authorization: {KEYWORD} <key>); signing in to the site gives "
    "read access only."
)


class ClientKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`: the request acts as the key's user (request.auth is the ClientKey).

    No header, or another scheme: None (the next authentication class, or anonymous). One query (the key by
    its prefix, its user joined), and a SHA-512 of the key compared in constant time.
    """

    key_parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[Any, ClientKey] | None:
        key = self.key_parser.get(request)
        if key is None:
            return None
        key = key.strip()
        # The package's keys are letters and digits around one dot: anything else (a NUL, which PostgreSQL
        # refuses in a string, or a megabyte of text) is no key, and is not looked up.
        if not KEY_SHAPE.fullmatch(key):
            raise exceptions.AuthenticationFailed(NOT_VALID)
        try:
            client_key = ClientKey.objects.get_from_key(key)
        except ClientKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(NOT_VALID) from None
        if client_key.has_expired:
            expired = timezone.localtime(client_key.expiry_date)
            raise exceptions.AuthenticationFailed(f"This API key expired on {expired:%Y-%m-%d %H:%M %Z}.")
        return client_key.user, client_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def request_key(request: Request) -> ClientKey | None:
    """The API key the request was made with, or None."""
    return request.auth if isinstance(request.auth, ClientKey) else None


@contextlib.contextmanager
def acting_with_key(request: Request) -> Iterator[None]:
    """A key's write: one transaction, recorded in the audit history as the key's user's, with the key's
    prefix (the request's own context knows only Django's user, who is anonymous for a key's request).
    Runs no query of its own."""
    key = request_key(request)
    context = {} if key is None else {"api_key": key.prefix}
    user = request.user
    with (
        pghistory.context(user=user.pk, username=user.get_username(), **context),
        transaction.atomic(),
    ):
        yield


class KeyScope(permissions.BasePermission):
    """A write's permission: a key with `scope`, whose user holds the scope's Django permissions and `perms`.

    Use it as a permission class, called with its scope: `permission_classes = [KeyScope("manage_webhooks",
    "webhooks.add_webhook")]` (an instance stands for its class: calling it returns itself). Without
    credentials, a 401 naming the Api-Key scheme; a signed-in session, a key without the scope or a user
    without the permission, a 403 saying which. Queries: the user's permissions, once per request.
    """

    def __init__(self, scope: str, *perms: str, message: str = NEEDS_A_KEY) -> None:
        if scope not in Scope.values:
            raise ValueError(f"Unknown API key scope {scope!r}: one of {', '.join(Scope.values)}.")
        self.scope = scope
        self.perms = (*SCOPE_PERMISSIONS[scope], *perms)
        # A session's refusal (a 403): what to do instead. Reads that take a key too say so.
        self.message = message

    def __call__(self) -> KeyScope:
        return self

    def has_permission(self, request: Request, view: Any) -> bool:
        # The instance is shared by every request (it is the view's class attribute): a refusal is raised
        # with its own message, never stored on it.
        key = request_key(request)
        if key is None:
            # Without credentials DRF answers 401 (NotAuthenticated), with a session 403 and self.message.
            return False
        if not key.has_scope(self.scope):
            raise exceptions.PermissionDenied(f"This API key does not have the scope {self.scope}.")
        missing = [perm for perm in self.perms if not request.user.has_perm(perm)]
        if missing:
            raise exceptions.PermissionDenied(
                f"The key's user, {request.user.get_username()}, does not have the permission "
                f"{', '.join(missing)}: a key can do no more than its user."
            )
        return True


class ClientKeyThrottle(DatabaseRateThrottle):
    """Each API key at its own rate: the key's throttle_rate, else settings.API_KEY_THROTTLE_RATE (None in
    the tests: no default limit). Requests without a key are not this throttle's. One query for a key's
    request (DatabaseRateThrottle), none otherwise."""

    scope = "api_key"

    def __init__(self) -> None:
        # The rate is the key's: read per request (allow_request), not at construction as DRF does.
        self.rate = None

    def get_cache_key(self, request: HttpRequest, view: object) -> str | None:
        key = request_key(request)  # type: ignore[arg-type]
        return None if key is None else f"throttle_key_{key.pk}"

    def ahead_of_view(self, request: HttpRequest) -> None:
        """Never: a key's request has credentials, which the caching middleware leaves to the view."""
        return None

    def allow_request(self, request: HttpRequest, view: object) -> bool:
        key = request_key(request)  # type: ignore[arg-type]
        if key is None:
            return True
        self.rate = key.throttle_rate or settings.API_KEY_THROTTLE_RATE
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class ClientKeySchemeExtension(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme "ApiKey": the Authorization header, `Api-Key <key>`."""

    target_class = ClientKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"`{KEYWORD} <key>`: an API key made in the admin, shown once when it is made. The "
            "client acts as the key's user, within the key's scopes.",
        }

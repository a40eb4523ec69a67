"""Health probes and the answer during a database outage.

`/healthz` says the process answers; `/readyz` says the database answers too. Load balancers and
orchestrators call them every few seconds, from inside the network, often with an IP address as the Host and
over plain HTTP, so they are answered by the first middleware after the one that adds the CSP header: before
the HTTPS redirect, the ALLOWED_HOSTS check (Django checks the Host only when something asks for it), the
session and authentication. They disclose nothing but "ok" or "unavailable", whatever the Host.

When the database cannot be reached, a page or API request is a 503 with Retry-After (problem+json under
/api/, a plain page elsewhere) and one WARNING line in the log, not a 500 with a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.log import log_response

from claims.api.errors import DATABASE_UNAVAILABLE, is_api_request, problem_response

# How long a client should wait before trying again during an outage.
RETRY_AFTER_SECONDS = 30

# SQLSTATEs of a server that refuses or drops connections: class 08 (connection exception), a server
# shutting down or starting up, and too many connections. A failure before the server said anything (refused,
# timed out) has no SQLSTATE at all.
_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def is_connection_failure(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached, rather than that a query was wrong.

    Other OperationalErrors (a statement timeout, a deadlock, a query too complex) stay 500s with their
    traceback: they are bugs or load to look at, and hiding them as an outage would lose them.
    """
    if isinstance(error, InterfaceError):
        return True  # the connection was closed under us
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = cause.sqlstate if isinstance(cause, psycopg.Error) else None
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES


def _probe_response(body: dict[str, str], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def database_error() -> str | None:
    """Why the database does not answer `SELECT 1`, or None when it does.

    One query, on the worker's kept connection when it has one.

    A database that is down fails at connect, which DATABASE_CONNECT_TIMEOUT bounds (a refused connection
    fails at once). SELECT 1 takes no lock, so only a stalled server could hold it, and a probe's own
    timeout counts that as not ready.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (DatabaseError, InterfaceError) as error:
        return _first_line(error)
    return None


class HealthProbeMiddleware:
    """Answers GET/HEAD /healthz and /readyz itself; every other request passes on untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in ("/healthz", "/readyz"):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _probe_response({"status": "method not allowed"}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        if request.path_info == "/healthz":
            return _probe_response({"status": "ok"})
        error = database_error()
        if error is None:
            return _probe_response({"status": "ok", "database": "ok"})
        response = _probe_response({"status": "unavailable", "database": "unavailable"}, status=503)
        log_response(
            "Not ready (database unreachable: %s): %s",
            error,
            request.path,
            response=response,
            request=request,
            level="warning",
        )
        return response


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class DatabaseOutageMiddleware:
    """Turns a view's lost-database error into a 503 with Retry-After, logged once at WARNING.

    DRF re-raises exceptions that are not API exceptions, so an outage inside an API view arrives here too,
    as does one raised while a template response renders. The 503 page is rendered without a request, so no
    context processor (nor the session behind `user`) touches the database.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_connection_failure(exception):
            return None
        if is_api_request(request):
            response = problem_response(503, DATABASE_UNAVAILABLE)
        else:
            html = render_to_string(
                "claims/unavailable.html",
                {"organization_name": settings.FACTCHECK_ORGANIZATION_NAME},
            )
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        # One line per request; log_response marks the response so Django does not log it again at ERROR.
        log_response(
            "Service Unavailable (database unreachable: %s): %s",
            _first_line(exception),
            request.path,
            response=response,
            request=request,
            level="warning",
        )
        return response

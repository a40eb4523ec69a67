"""factcheck settings, all read from the environment (see README.md for every variable)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# The key `make run` uses. It is public, so a server with DEBUG off refuses to start with it.
DEVELOPMENT_SECRET_KEY = "django-insecure-factcheck-development-key-never-use-in-production"  # noqa: S105


def env_str(name: str, default: str = "") -> str:
    # An empty variable counts as unset: compose passes `${NAME:-}` through as an empty string.
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_url(name: str) -> str:
    """An absolute http(s) URL, or "" when unset."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return ""
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest.split("/", 1)[0]:
        raise ImproperlyConfigured(
            f"{name} must be an http:// or https:// URL, such as https://factcheck.example, not {value!r}"
        )
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# A DRF throttle rate, "<requests>/<second|minute|hour|day>": the rule of env_rate and of an API key's own rate
# (claims.ClientKey.throttle_rate, whose database constraint holds the same pattern).
THROTTLE_RATE_PATTERN = r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)"


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate, "<requests>/<second|minute|hour|day>", checked here: DRF reads it per request."""
    value = os.environ.get(name, "").strip() or default
    if not re.fullmatch(THROTTLE_RATE_PATTERN, value):
        raise ImproperlyConfigured(f"{name} must be requests per period, such as 60/minute, not {value!r}")
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
# With DEBUG off the key must pass Django's own rule (security.W009): at least 50 characters, at least 5
# different ones, and not a "django-insecure-" key such as the development one. manage.py and wsgi.py print
# this message as one line and stop.
_MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured(
        f"Set SECRET_KEY to a long random value (DEBUG is off); make one with {_MAKE_A_KEY}"
    )
if not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 characters with at least 5 different ones, and not a development"
        f" (django-insecure-) key: DEBUG is off; make one with {_MAKE_A_KEY}"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The organisation that publishes the fact checks: the ClaimReview author and the site's name. Its URL, unset,
# is this site's own root (claims.site_urls.organization_url).
FACTCHECK_ORGANIZATION_NAME = env_str("ORGANIZATION_NAME", "factcheck")
FACTCHECK_ORGANIZATION_URL = env_url("ORGANIZATION_URL")
# The public base URL for absolute links (ClaimReview's url, the API's html_url), such as
# https://factcheck.example. Unset, links are built from the request's own host (`check --deploy` warns).
FACTCHECK_SITE_URL = env_url("SITE_URL").rstrip("/")

# Review before publication: a verdict is published by someone other than its author (claims.services
# publication_permission_errors). A newsroom of one sets REVIEW_REQUIRED=false; publishing still takes the
# publish_verdict permission (the Reviewers group).
REVIEW_REQUIRED = env_bool("REVIEW_REQUIRED", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # Its abstract key model, hashing and admin; its own APIKey model is unused (claims.ClientKey is ours).
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "corsheaders",
    # The audit history (claims/audit.py): database triggers that record every write of a claims model.
    "pgtrigger",
    "pghistory",
    # The job queue (webhook deliveries, the overdue check): its tables, `manage.py procrastinate worker`,
    # and the tasks of claims/tasks.py (found by its autodiscovery). Before claims, whose tasks it loads.
    "procrastinate.contrib.django",
    "claims",
]

MIDDLEWARE = [
    # First, so that every response carries the policy: the probes' answers, the refusals below, whitenoise's
    # files and the outage's 503s too. It only adds a header (no Host, session or database).
    "factcheck.middleware.CSPMiddleware",
    # Next: the probes answer before the HTTPS redirect, the host check and the session are reached.
    "factcheck.health.HealthProbeMiddleware",
    # Before anything else that may answer, so the API's refusals (400, 304, 429) carry the CORS headers
    # too and a browser script can read them; it answers the API's preflight requests itself.
    "corsheaders.middleware.CorsMiddleware",
    "factcheck.middleware.RejectUnsafeCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: a 304 from the site clock before the view, for anonymous readers of the public
    # pages and the API; cache headers on their responses (factcheck/caching.py).
    "factcheck.caching.ConditionalGetMiddleware",
    # After the user is known: the audit history records who made each write, through which request.
    "claims.audit.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the others, as django-axes asks: it turns a refused admin login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Last, so its process_exception runs first: a lost database is a 503, not a 500.
    "factcheck.health.DatabaseOutageMiddleware",
]
if DEBUG:
    # Django's debug 404 page skips handler404: under /api/ this answers the API's problem document instead.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.common.CommonMiddleware") + 1,
        "claims.api.errors.debug_not_found_middleware",
    )

# The audit history's request context (claims.audit.HistoryMiddleware) is set for the methods that may write:
# GET and HEAD write no tracked row, and so skip it (and the user lookup it makes).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

ROOT_URLCONF = "factcheck.urls"
WSGI_APPLICATION = "factcheck.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "claims.context_processors.site",
            ],
        },
    },
]

# PostgreSQL only. Without DATABASE_URL the embedded server (pgserver) under .data/ is started.
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    from factcheck.embedded_db import database_url

    DATABASE_URL = database_url(Path(env_str("FACTCHECK_DATA_DIR", str(BASE_DIR / ".data"))))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
# Django's backend, with a kept connection's health checked on its socket instead of by a SELECT 1 a request
# (factcheck/postgresql/base.py says why that is enough).
DATABASES["default"]["ENGINE"] = "factcheck.postgresql"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A database that does not answer fails a request (a 503) after this many seconds instead of hanging it.
# libpq counts at least 2; a connect_timeout in DATABASE_URL's query string wins.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
)
# Prepared statements for the queries the pages compile once per process (claims.prepared): each is planned
# once per connection instead of on every request. Only those are prepared: Django's own cursors write the
# values into the SQL (client-side binding), which psycopg never prepares. Off (DATABASE_PREPARED_STATEMENTS=
# false) behind a transaction-pooling pgbouncer that does not keep prepared statements (before 1.22, or
# max_prepared_statements = 0); the queries then run unprepared.
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's target in production (whitenoise serves it); in development the app folders are served.
STATIC_ROOT = (
    env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")) if not DEBUG else env_str("STATIC_ROOT") or None
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Abuse: who a client is, the API throttle (its state is a PostgreSQL table that every process shares, so no
# shared cache is needed: CACHES is Django's default), the admin's login lockout and the
# Content-Security-Policy. README.md ("Abuse") says how each behaves.

# How many proxies that append to X-Forwarded-For stand in front of the app. 0 trusts no header (the client
# is REMOTE_ADDR); 1 (production's default: the documented set-up is one TLS proxy) takes the address the
# proxy saw, the last one in the header. More than there really are lets a client choose its own address.
NUM_PROXIES = env_int("NUM_PROXIES", 0 if DEBUG else 1)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured(f"NUM_PROXIES must be 0 or more, not {NUM_PROXIES}")

# A search ranks its matches within windows of this many, latest status change first (claims.pagination's
# SearchWindows): a common word costs a window or two a page, never every match.
SEARCH_WINDOW = 200

# The throttle of a client with an API key (claims.api.keys.ClientKeyThrottle), unless the key has its own rate.
API_KEY_THROTTLE_RATE = env_rate("API_KEY_THROTTLE_RATE", "600/minute")

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # An API key (`Authorization: Api-Key <key>`) first: it is the only way to write, and its scheme is
        # what a 401 names in WWW-Authenticate. Then the session, which reads only (claims.api.keys).
        # No Basic: it would hash a password on every request that sends one (about 0.4 s each) and answer
        # whether it is right.
        "claims.api.keys.ClientKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Anonymous clients, each as factcheck.abuse.client_address() sees it, and each API key at its own rate;
    # signed-in users are not throttled.
    "DEFAULT_THROTTLE_CLASSES": [
        "factcheck.abuse.AnonymousClientThrottle",
        "claims.api.keys.ClientKeyThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": env_rate("API_ANON_THROTTLE_RATE", "60/minute")},
    "NUM_PROXIES": NUM_PROXIES,
    # DRF's JSON written by orjson (claims/api/renderers.py). The browsable API in development only: in
    # production a page of claims would be rendered as HTML for any client that asks for text/html (a
    # browser), at many times the cost of its JSON; there the API answers JSON, and a 406 to anything else.
    "DEFAULT_RENDERER_CLASSES": [
        "claims.api.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Every API error is one JSON shape (RFC 9457 problem details): see claims/api/errors.py.
    "EXCEPTION_HANDLER": "claims.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "factcheck API",
    "DESCRIPTION": "Claims, their statuses and every status change. Read-only without an API key; "
    "with one (`Authorization: Api-Key <key>`), a client creates speakers, sources, claims and verdicts as the "
    "key's user, within the key's scopes, and manages its own webhook endpoints (`/api/v1/webhooks/`, which take "
    "a key for reads too).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema's one security scheme is the API key: a session reads only, as anyone may (claims.api.keys).
    "AUTHENTICATION_WHITELIST": ["claims.api.keys.ClientKeyAuthentication"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The events feed's `type` and the changes feed's are two enums: each its own component name (the changes
    # feed's keeps the one it had, so generated clients keep theirs).
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "claims.models.EventType",
        "TypeEnum": ["status_change", "correction"],
    },
}

# Caching (factcheck/caching.py; README "Caching and conditional requests"): how long a browser or a CDN may
# reuse an anonymous public response without asking, and how much longer a CDN may serve it while it asks.
CACHE_MAX_AGE = env_int("CACHE_MAX_AGE", 60)
CACHE_STALE_WHILE_REVALIDATE = env_int("CACHE_STALE_WHILE_REVALIDATE", 300)
if CACHE_MAX_AGE < 0 or CACHE_STALE_WHILE_REVALIDATE < 0:
    raise ImproperlyConfigured("CACHE_MAX_AGE and CACHE_STALE_WHILE_REVALIDATE must be 0 or more seconds.")

# CORS (django-cors-headers) for the read-only API only: any origin's scripts may read it, without
# credentials (no cookies: a session's responses are never for another site's page). The conditional
# request headers are allowed, and the validators, paging links and throttle wait are readable.
CORS_URLS_REGEX = r"^/api/v1/"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_HEADERS = ("accept", "accept-language", "content-type", "if-none-match", "if-modified-since")
CORS_EXPOSE_HEADERS = ("ETag", "Last-Modified", "Link", "Retry-After")

# The admin's login lockout (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username from one
# client address, that pair is refused for LOGIN_COOLOFF_MINUTES, even with the right password. Locking the
# pair, not the username, means an attacker cannot lock an editor out from everywhere. Superusers see and
# clear lockouts in the admin ("Access attempts"); `manage.py axes_reset_username <name>` clears one too.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be 1 or more.")
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the pair's earlier failures
AXES_CLIENT_IP_CALLABLE = "factcheck.abuse.client_address"  # the same client as the API throttle's
AXES_LOCKOUT_CALLABLE = "factcheck.abuse.login_locked_out"  # the admin's page, 429 with Retry-After
# No banner on every manage.py command; failures are still logged (username and address masked).
AXES_VERBOSE = False

# Content-Security-Policy on every response (django-csp). Scripts and stylesheets come from this site only,
# and no inline script runs (the ClaimReview JSON-LD is a data block, which browsers never execute, so the
# policy does not apply to it). Style attributes are allowed: a status badge's colour is the editors' choice,
# set as style="--status-colour: ..." on the pages and in the admin; a style attribute cannot load anything,
# as every fetch is 'self'. factcheck/urls.py lets the API docs page (Swagger UI) show data: images.
# With DEBUG on, Django's own 404 and 500 debug pages go without it (they have inline scripts).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Production hardening: on whenever DEBUG is off (`manage.py check --deploy` passes).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    # Opt-in: both bind every subdomain of the site's domain (other teams' hosts too), and preload cannot
    # be undone quickly, so the operator who owns the domain decides. `check --deploy` warns about each one
    # left off (security.W005, W021); those two warnings are silenced because off is the chosen default.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

# Webhooks (claims/webhooks.py) and the worker that sends them (`make worker`, compose's `worker`).
# Deliveries to loopback, private, link-local or otherwise non-public addresses are refused (checked after
# DNS resolution, and the request goes to the address checked), unless this is on: for a test or an
# intranet receiver. Plain http:// endpoints are refused too unless this or DEBUG is on.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)
# An endpoint whose every attempt has failed for this many days is disabled when a delivery runs out of
# retries (about a day each), with the reason shown in the admin.
WEBHOOKS_DISABLE_AFTER_DAYS = env_int("WEBHOOKS_DISABLE_AFTER_DAYS", 5)
if WEBHOOKS_DISABLE_AFTER_DAYS < 1:
    raise ImproperlyConfigured("WEBHOOKS_DISABLE_AFTER_DAYS must be 1 or more.")
# A worker that has sent no heartbeat for this many seconds is dead: its running jobs (a delivery cut off
# by a kill -9, a lost machine) are retried by the periodic stalled-job check (claims/tasks.py), which runs
# as often. Workers beat every third of it.
WORKER_STALLED_SECONDS = env_int("WORKER_STALLED_SECONDS", 30)
if WORKER_STALLED_SECONDS < 3:
    raise ImproperlyConfigured("WORKER_STALLED_SECONDS must be 3 or more.")
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": WORKER_STALLED_SECONDS / 3,
    "stalled_worker_timeout": WORKER_STALLED_SECONDS,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # pgserver narrates every start and exit at INFO.
    "loggers": {
        "pgserver": {"level": "WARNING"},
        # procrastinate narrates loading its tasks in every process that starts Django.
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
        # Django's own loggers print through the root handler only (else runserver prints every line twice).
        "django": {"level": env_str("LOG_LEVEL", "INFO"), "handlers": [], "propagate": True},
    },
}

"""Webhooks: the public events (claims.events) POSTed to registered endpoints as Standard Webhooks 1.0.

The path of an event to an endpoint:

1. claims.events._insert calls `enqueue_deliveries` in the event's transaction: one query finds the active
   endpoints whose filters take it, a WebhookDelivery is inserted for each, and a procrastinate job for each
   is deferred on Django's own connection. A committed event always has its deliveries and jobs; a rolled
   back one never has any.
2. The worker (`manage.py procrastinate worker`) runs claims.tasks.deliver_webhook, which calls `deliver`:
   it records the attempt, sends one signed POST (no transaction open meanwhile) and records the outcome.
   2xx delivers; 410 Gone disables the endpoint; anything else (another status, a timeout, a refused
   address) is retried on RETRY_SCHEDULE (about a day, with jitter, Retry-After honoured) by deferring the
   next job in the transaction that records the failure. After the last attempt the delivery fails, and an
   endpoint whose every attempt has failed for WEBHOOKS_DISABLE_AFTER_DAYS is disabled, with the reason.
3. A worker killed mid-request loses nothing: its job stays "doing", its heartbeat stops, and the periodic
   stalled-job check retries the job, which sends again with the same `webhook-id` (at least once: the
   consumer dedupes by the id).

Requests only go to public addresses (unless WEBHOOKS_ALLOW_PRIVATE_ADDRESSES): the name is resolved, every
address it has is checked, and the connection is made to the checked address with the URL's Host and TLS
name, so a DNS answer that changes between check and connect cannot point the request inside.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from procrastinate import manager as procrastinate_manager
from procrastinate import tasks as procrastinate_tasks
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.models import ProcrastinateJob

from claims.models import (
    DeliveryState,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "claims.deliver_webhook"
QUEUE = "webhooks"

# Seconds to wait after attempt n (1-based) before attempt n+1: the first attempt is at once, then about
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27 hours, Standard Webhooks'
# suggested schedule. Each wait is jittered by ±JITTER so that deliveries failed together spread out.
RETRY_SCHEDULE: tuple[int, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.2
# A Retry-After longer than this is cut to it: a receiver cannot park a delivery for a week.
RETRY_AFTER_CAP = 10 * 3600
# One attempt's whole time, by the wall clock: resolving the name, connecting (and TLS), sending, the
# response's status line and headers, and reading the body's first EXCERPT_BYTES. Not a limit per socket
# read: a receiver trickling a byte at a time cannot hold a worker's thread longer than this.
TIMEOUT_SECONDS = 15.0
# How much of a response body is kept for the delivery log (and read at all).
EXCERPT_BYTES = 1024
USER_AGENT = "factcheck-webhooks/1 (+Standard Webhooks)"
# The certificates TLS trusts: None is the system's store. The tests point it at a certificate of their own.
CA_CERTS: str | None = None


def retry_delay(
    attempts_made: int, *, retry_after: float | None = None, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before the next attempt after `attempts_made` failed ones, or None when the delivery
    has had its last attempt. A pure function of its arguments (`rand` gives the jitter, in [0, 1)).

    A Retry-After from the receiver is honoured, up to RETRY_AFTER_CAP, when it asks for longer than the
    schedule would wait; the schedule still ends after MAX_ATTEMPTS.
    """
    if attempts_made < 1 or attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[attempts_made - 1]
    delay = base * (1 + JITTER * (2 * rand() - 1))
    if retry_after is not None and retry_after > delay:
        delay = min(float(retry_after), float(RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header's wait in seconds: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    # RFC 9110's delta-seconds are ASCII digits: str.isdigit() is also true of superscripts, which float()
    # refuses, and of other scripts' digits, which no HTTP server sends.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


# Signing --------------------------------------------------------------------------------------------------


def message_body(event: Event) -> bytes:
    """The request body: Standard Webhooks' envelope around the event's data as published, with the event's
    id (its place in the events feed, so a consumer of both knows one event from the other). Compact and with
    sorted keys, so the same event always gives the same bytes."""
    envelope = {
        "id": event.pk,
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature: base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the secret's
    base64-decoded part (after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request's headers, with one signature per secret (two during a rotation's overlap)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


# Where requests may go ----------------------------------------------------------------------------------


class RefusedURL(Exception):
    """A URL that factcheck will not send to (a non-public address, a bad scheme), with why."""


def allow_private_addresses() -> bool:
    return settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES


# IPv6 prefixes that carry an IPv4 address inside and reach it through a relay: 6to4 (RFC 3056, deprecated
# by RFC 7526) and Teredo (RFC 4380). ipaddress counts 6to4 as global whatever IPv4 address it embeds (so
# 2002:7f00:1:: would reach 127.0.0.1 through a relay), and Teredo's is obfuscated: both are refused outright.
TUNNEL_PREFIXES: tuple[tuple[str, ipaddress.IPv6Network], ...] = (
    ("a 6to4", ipaddress.IPv6Network("2002::/16")),
    ("a Teredo", ipaddress.IPv6Network("2001::/32")),
)


def address_refusal(address: str) -> str | None:
    """Why `address` is not one to send to (loopback, private, link-local, an IPv4-in-IPv6 tunnel, ...), or
    None if it is public."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        for kind, network in TUNNEL_PREFIXES:
            if ip in network:
                return f"{address} is {kind} address (IPv4 tunnelled in IPv6)"
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    for kind, flag in (
        ("an unspecified", ip.is_unspecified),
        ("a loopback", ip.is_loopback),
        ("a link-local", ip.is_link_local),
        ("a private", ip.is_private),
        ("a multicast", ip.is_multicast),
        ("a reserved", ip.is_reserved),
        ("a non-public", not ip.is_global),
    ):
        if flag:
            return f"{address} is {kind} address"
    return None


def resolve(host: str, port: int, timeout: float | None = None) -> list[str]:
    """Every address `host` resolves to (one DNS look-up), in the resolver's order. With `timeout`, the
    look-up runs in a thread of its own, given up on (TimeoutError) after that many seconds: getaddrinfo
    cannot be interrupted, and a slow resolver must not hold the attempt past its deadline."""
    if timeout is None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(info[4][0] for info in infos))
    answer: list[list[str]] = []
    failure: list[BaseException] = []

    def look_up() -> None:
        try:
            answer.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=look_up, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if failure:
        raise failure[0]
    if not answer:
        raise TimeoutError(f"no answer within {timeout:.1f} s")
    return answer[0]


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the URL's host name (or literal address), for Host and TLS
    port: int
    path: str  # path and query
    address: str  # the vetted address the connection goes to
    host_header: str


def explicit_port(url: str) -> int | None:
    """The URL's port, None if it names none. ValueError unless it is a number from 1 to 65535: urlsplit
    raises only when `.port` is read (Django's URL check takes :99999), and takes :0."""
    port = urlsplit(url).port
    if port == 0:
        raise ValueError("Port 0 is not one to connect to")
    return port


def url_problem(url: str) -> str | None:
    """What is wrong with an endpoint URL before any look-up (the scheme, the port, a literal private
    address), or None. The admin form and the API serializer show it; `vet` checks it again at every
    attempt, so a URL saved before a check existed is refused at delivery, never crashes it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "The URL is malformed."
    if parts.scheme not in ("http", "https"):
        return "Use an http:// or https:// URL."
    if parts.scheme == "http" and not (settings.DEBUG or allow_private_addresses()):
        return "Use an https:// URL: events are signed, not encrypted."
    if not parts.hostname:
        return "The URL has no host."
    try:
        explicit_port(url)
    except ValueError:
        return "The URL's port must be a number from 1 to 65535."
    if parts.username or parts.password:
        return "Leave the user name and password out of the URL."
    if allow_private_addresses():
        return None
    host = parts.hostname
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{host} is not a public host name."
    try:
        refusal = address_refusal(host)
    except ValueError:
        return None  # a name: checked after resolution, at every attempt
    return f"Refused: {refusal}." if refusal else None


def vet(url: str, *, timeout: float | None = None) -> Target:
    """The address to send `url`'s request to: its host resolved (within `timeout` seconds, if given), and
    every address it resolves to checked (one private answer among public ones is refused too: which one a
    client uses is not ours to choose). Raises RefusedURL, never anything else for a bad URL."""
    problem = url_problem(url)
    if problem:
        raise RefusedURL(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = explicit_port(url) or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port, timeout)
    except (OSError, UnicodeError) as exc:
        raise RefusedURL(f"{host} does not resolve ({exc})") from None
    if not addresses:
        raise RefusedURL(f"{host} has no address")
    if not allow_private_addresses():
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise RefusedURL(f"Refused: {host} resolves to {address}; {refusal}.")
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        address=addresses[0],
        host_header=parts.netloc.rsplit("@", 1)[-1],
    )


@dataclass
class Outcome:
    """What one request came to."""

    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Deadline:
    """An attempt's wall-clock limit. Every blocking step is given the time left as its socket timeout, but
    a timeout bounds one read, not many: so a timer also shuts the connection's socket down when the time
    is up, which ends whatever read or write is blocked on it (a receiver trickling a byte at a time, in the
    TLS handshake, the headers or the body). The timer holds a duplicate of the socket's descriptor, taken
    before TLS wraps (and detaches) the original; shutdown(2) acts on the connection, whichever descriptor."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        """Seconds left; TimeoutError once there are none (a zero socket timeout would mean non-blocking)."""
        left = self.ends - time.monotonic()
        if left <= 0 or self.expired:
            raise TimeoutError(f"the attempt's {self.seconds:g} s are up")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                raise TimeoutError(f"the attempt's {self.seconds:g} s are up")
            self._socket = sock.dup()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._socket is not None:
                with contextlib.suppress(OSError):  # already closed by the other end
                    self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


class _Connection(http.client.HTTPConnection):
    """http.client's connection, made to the vetted address (not a new look-up of the name), with TLS
    verified against the URL's host name and sent it as SNI, under the attempt's deadline."""

    def __init__(self, target: Target, deadline: _Deadline) -> None:
        super().__init__(target.address, target.port, timeout=deadline.left())
        self.target = target
        self.deadline = deadline
        self.socket_in_use: socket.socket | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self.target.address, self.target.port), timeout=self.deadline.left())
        try:
            self.deadline.watch(sock)
            if self.target.scheme == "https":
                context = ssl.create_default_context(cafile=CA_CERTS)
                sock.settimeout(self.deadline.left())
                sock = context.wrap_socket(sock, server_hostname=self.target.host)
            sock.settimeout(self.deadline.left())
        except BaseException:
            sock.close()
            raise
        self.sock = self.socket_in_use = sock

    def time_left_to_socket(self) -> None:
        """Give the socket the time left as its timeout, before the next read."""
        if self.socket_in_use is not None and self.socket_in_use.fileno() != -1:
            self.socket_in_use.settimeout(self.deadline.left())


def _read_excerpt(connection: _Connection, response: http.client.HTTPResponse) -> bytes:
    """The body's first EXCERPT_BYTES, or what of them arrives before the deadline or an error: the body
    is for the log only, so a body cut short does not change the attempt's outcome."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < EXCERPT_BYTES:
            connection.time_left_to_socket()
            chunk = response.read1(EXCERPT_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, http.client.HTTPException, ValueError):
        # A timeout, the deadline's shutdown, a reset, a malformed chunk: the excerpt is what came.
        return b"".join(chunks)
    return b"".join(chunks)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once: vetted, aimed at the vetted address, no redirect followed (a 3xx is a
    failure), the body's first EXCERPT_BYTES read and the rest dropped, all of it within TIMEOUT_SECONDS
    by the wall clock (_Deadline). The status and headers must arrive within it; the excerpt is what of it
    has by then. Never raises: a refusal, a network error, a timeout or an unexpected error is the Outcome's
    error, so that the attempt is recorded and retried.

    http.client, not requests or urllib3: the connection is made by our own connect() (to the vetted
    address, with the URL's host for TLS and Host), which is also where the deadline's timer gets the socket
    it shuts down, before the TLS handshake that a receiver could trickle too.
    """
    deadline = _Deadline(TIMEOUT_SECONDS)
    started = time.monotonic()
    connection: _Connection | None = None

    def elapsed_ms() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        try:
            target = vet(url, timeout=deadline.left())
        except RefusedURL as exc:
            return Outcome(error=str(exc)[:500])
        started = time.monotonic()
        connection = _Connection(target, deadline)
        connection.request("POST", target.path, body=body, headers={**headers, "Host": target.host_header})
        connection.time_left_to_socket()
        response = connection.getresponse()
        if deadline.expired:
            # The timer's shutdown reads as the end of the headers: those trickled past the deadline.
            raise TimeoutError
        latency_ms = elapsed_ms()
        excerpt = _read_excerpt(connection, response)
        return Outcome(
            status_code=response.status,
            latency_ms=latency_ms,
            excerpt=excerpt.decode("utf-8", errors="replace"),
            retry_after=parse_retry_after(response.getheader("Retry-After"), timezone.now()),
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired or isinstance(exc, TimeoutError):
            error = f"Timed out: no response within {TIMEOUT_SECONDS:g} s."
        else:
            error = f"Could not send: {exc or type(exc).__name__}"
        return Outcome(latency_ms=elapsed_ms(), error=error[:500])
    except Exception as exc:  # a defect of ours: recorded and retried like any failure, never a crashed job
        logger.exception("webhook to %s: unexpected error while sending", url)
        return Outcome(latency_ms=elapsed_ms(), error=f"Internal error: {type(exc).__name__}: {exc}"[:500])
    finally:
        if connection is not None:
            connection.close()
        deadline.close()


# Deferring jobs ----------------------------------------------------------------------------------------

# The worker's procrastinate app talks to the database through its own connection pool; jobs deferred here
# go through Django's connection instead, inside the caller's transaction, whichever process runs this.
_job_manager = procrastinate_manager.JobManager(DjangoConnector())


def _defer(*, schedule_in: float | None = None, delivery_ids: list[int], replay: bool = False) -> list[int]:
    """Defer one deliver_webhook job per delivery in the current transaction (one query). Returns job ids."""
    deferrer = procrastinate_tasks.configure_task(
        name=DELIVER_TASK,
        job_manager=_job_manager,
        queue=QUEUE,
        schedule_in={"seconds": schedule_in} if schedule_in else None,
    )
    return deferrer.batch_defer(*({"delivery_id": pk, "replay": replay} for pk in delivery_ids))


def enqueue_deliveries(events: list[Event]) -> list[WebhookDelivery]:
    """Make the deliveries of just-inserted events and defer their jobs, in the caller's transaction: one
    query when no endpoint matches, three when some do (the endpoints, the deliveries, the jobs)."""
    if not events:
        return []
    endpoints = list(
        WebhookEndpoint.objects.matching_any(events).only("claim_id", "speaker_id", "event_types")
    )
    if not endpoints:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event=event)
            for event in events
            for endpoint in endpoints
            if endpoint.matches(event)
        ]
    )
    if deliveries:
        _defer(delivery_ids=[delivery.pk for delivery in deliveries])
    return deliveries


# Sending ------------------------------------------------------------------------------------------------


def deliver(delivery_id: int, *, job_id: int, replay: bool = False) -> str:
    """One attempt of a delivery, run by its job `job_id`; returns what happened ("delivered", "retry",
    "failed", "disabled", "skipped", "stale"). A job that does not own the delivery (a stale duplicate)
    does nothing; an endpoint disabled, or whose key is no longer in force, is skipped. `replay`: an
    attempt asked for in the admin, not retried if it fails.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint__key__user", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.state != DeliveryState.PENDING
            or delivery.job_id not in (None, job_id)
        ):
            return "stale"
        # An attempt left unfinished is one a worker died in (or a job that failed mid-way): say so.
        WebhookAttempt.objects.filter(delivery=delivery, finished=False).update(
            finished=True, error="Interrupted: the worker stopped during this attempt; sent again."
        )
        endpoint = delivery.endpoint
        now = timezone.now()
        delivery.job_id = job_id
        # Disabled, or its key revoked or expired since the event: not sent.
        if not endpoint.delivers(now):
            delivery.state = DeliveryState.SKIPPED
            delivery.completed_at = now
            delivery.save(update_fields=["state", "completed_at", "job_id"])
            return "skipped"
        delivery.attempts += 1
        delivery.next_attempt_at = None
        delivery.save(update_fields=["attempts", "next_attempt_at", "job_id"])
        attempt = WebhookAttempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=now)

    # No transaction (and no lock) is held while the request runs, for up to TIMEOUT_SECONDS. Whatever goes
    # wrong in between is an outcome recorded below (and retried): an exception escaping here would fail
    # the job and leave the delivery pending with nothing scheduled.
    try:
        body = message_body(delivery.event)
        sent_at = int(time.time())
        headers = signed_headers(endpoint.signing_secrets(timezone.now()), delivery.webhook_id, sent_at, body)
        outcome = post(endpoint.url, body, headers)
    except Exception as exc:
        logger.exception("webhook %s: unexpected error before sending", delivery.webhook_id)
        outcome = Outcome(error=f"Internal error: {type(exc).__name__}: {exc}"[:500])
    return _record(delivery_id, attempt, outcome, job_id=job_id, replay=replay)


def _record(delivery_id: int, attempt: WebhookAttempt, outcome: Outcome, *, job_id: int, replay: bool) -> str:
    """Record an attempt's outcome and decide what follows, in one transaction (the next job included)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        now = timezone.now()
        attempt.finished = True
        attempt.status_code = outcome.status_code
        attempt.latency_ms = outcome.latency_ms
        attempt.response_excerpt = outcome.excerpt
        attempt.error = outcome.error
        attempt.save(update_fields=["finished", "status_code", "latency_ms", "response_excerpt", "error"])
        if delivery.job_id != job_id or delivery.state != DeliveryState.PENDING:
            return "stale"
        endpoint_fields: list[str] = []
        if outcome.succeeded:
            delivery.state = DeliveryState.SUCCEEDED
            delivery.completed_at = now
            endpoint.last_success_at = now
            endpoint.failing_since = None
            endpoint_fields += ["last_success_at", "failing_since"]
            result = "delivered"
        else:
            if endpoint.failing_since is None:
                endpoint.failing_since = attempt.started_at
                endpoint_fields.append("failing_since")
            delay = None if replay else retry_delay(delivery.attempts, retry_after=outcome.retry_after)
            if outcome.status_code == 410:
                delivery.state = DeliveryState.FAILED
                delivery.completed_at = now
                endpoint_fields += disable(
                    endpoint,
                    f"410 Gone from {endpoint.url} at {timezone.localtime(now):%Y-%m-%d %H:%M:%S %Z}.",
                )
                result = "disabled"
            elif delay is None:
                delivery.state = DeliveryState.FAILED
                delivery.completed_at = now
                result = "failed"
                limit = timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS)
                if not replay and endpoint.is_active and endpoint.failing_since <= now - limit:
                    endpoint_fields += disable(
                        endpoint,
                        f"Every delivery has failed since {timezone.localtime(endpoint.failing_since):%Y-%m-%d %H:%M %Z}"
                        f" (more than {settings.WEBHOOKS_DISABLE_AFTER_DAYS} days); the last: "
                        f"{outcome.status_code or outcome.error}.",
                    )
                    result = "disabled"
            else:
                (delivery.job_id,) = _defer(schedule_in=delay, delivery_ids=[delivery.pk])
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                result = "retry"
        delivery.save(update_fields=["state", "completed_at", "next_attempt_at", "job_id"])
        if endpoint_fields:
            endpoint.save(update_fields=sorted(set(endpoint_fields)))
    logger.info(
        "webhook %s to endpoint %s, attempt %s: %s", delivery.webhook_id, endpoint.pk, attempt.number, result
    )
    return result


def disable(endpoint: WebhookEndpoint, reason: str) -> list[str]:
    """Mark `endpoint` disabled with `reason` (the caller saves it); returns the fields changed."""
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = timezone.now()
    return ["is_active", "disabled_reason", "disabled_at"]


# What the admin (and the API) do -------------------------------------------------------------------------


class ReplayRefused(Exception):
    """A delivery that cannot be replayed now (still being delivered, or its endpoint disabled): the
    message says why, for the admin's message and the API's 400."""


# The job statuses of a delivery still in hand: queued (perhaps scheduled for a retry) or running.
LIVE_JOB_STATUSES = ("todo", "doing")


def live_job(delivery: WebhookDelivery) -> ProcrastinateJob | None:
    """The queued or running job of `delivery`, if it has one. Any deliver_webhook job for it counts (the
    first job is not recorded on the delivery; a stale duplicate soon ends): the look-up goes through
    procrastinate's partial index of todo and doing jobs, a handful of rows."""
    return (
        ProcrastinateJob.objects.filter(
            status__in=LIVE_JOB_STATUSES, task_name=DELIVER_TASK, args__delivery_id=delivery.pk
        )
        .only("id", "status", "scheduled_at")
        .order_by("-id")
        .first()
    )


def replay(delivery: WebhookDelivery) -> int:
    """Send a delivery once more, with its webhook-id, through a new job (one attempt, not retried).
    Returns the job id. A finished delivery can be replayed; a pending one only when it has no job queued
    or running (its job failed after its retries, was cancelled or removed), so that a delivery stuck
    pending can always be recovered, while one in hand is not sent twice at once. Refused too while its
    endpoint is disabled."""
    with transaction.atomic():
        # The delivery's row only: _record locks a delivery, then its endpoint; locking both here could
        # meet it the other way round.
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint__key__user")
            .get(pk=delivery.pk)
        )
        if delivery.state == DeliveryState.PENDING:
            job = live_job(delivery)
            if job is not None:
                when = f", next attempt at {job.scheduled_at:%Y-%m-%d %H:%M %Z}" if job.scheduled_at else ""
                raise ReplayRefused(
                    f"{delivery.webhook_id} is still being delivered (job {job.pk} is {job.status}{when})."
                )
        if not delivery.endpoint.is_active:
            raise ReplayRefused(f"{delivery.webhook_id}: its endpoint is disabled; enable it first.")
        if not delivery.endpoint.delivers(timezone.now()):
            raise ReplayRefused(
                f"{delivery.webhook_id}: its endpoint's API key is revoked or expired (or its user inactive)."
            )
        (job_id,) = _defer(delivery_ids=[delivery.pk], replay=True)
        delivery.state = DeliveryState.PENDING
        delivery.job_id = job_id
        delivery.completed_at = None
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["state", "job_id", "completed_at", "next_attempt_at"])
        return job_id


# How long the previous secret keeps signing after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """Give `endpoint` a new secret and return it (to be shown once); the old one keeps signing, beside
    it, for ROTATION_OVERLAP. The row is locked and its current secret read again (two rotations at once
    keep a chain, never lose one); `endpoint` gets the new values. Two queries."""
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update(of=("self",)).only("secret").get(pk=endpoint.pk)
        endpoint.previous_secret = current.secret
        endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        endpoint.secret = new_webhook_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        return endpoint.secret


def save_endpoint(endpoint: WebhookEndpoint, *, fields: Collection[str], enabled_again: bool) -> list[str]:
    """Save an edit of `endpoint` (the admin's change form, the API's PATCH): only `fields`, since the
    worker updates the endpoint's state (last success, failing since) as it sends, and a whole-row save would
    put back what was loaded. Enabled again by hand (`enabled_again`: it was inactive and is active now), the
    reason it was disabled and its failing streak are over, and cleared. One query; returns the fields saved.
    """
    saved = list(dict.fromkeys(fields))
    if enabled_again:
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.failing_since = None
        saved += ["disabled_reason", "disabled_at", "failing_since"]
    if saved:
        endpoint.save(update_fields=saved)
    return saved


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Delete `endpoint` with its deliveries and their attempts (a job left for one finds nothing: "stale").

    The rows are locked in the worker's order first (_record locks a delivery, then its endpoint, then
    writes the attempt): the deliveries, then the endpoint. Deleting straight away would lock attempts and
    deliveries from the other end and could deadlock with a delivery being recorded; this waits for it.
    Queries: the locks (two), then Django's cascade (the deliveries and attempts found and deleted).
    """
    with transaction.atomic():
        list(
            WebhookDelivery.objects.filter(endpoint_id=endpoint.pk)
            .order_by("id")
            .select_for_update()
            .values_list("id", flat=True)
        )
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).values_list("id").first()
        endpoint.delete()


def validate_endpoint_url(url: str) -> None:
    """The endpoint URL's check for forms and serializers: raises ValidationError."""
    problem = url_problem(url)
    if problem:
        raise ValidationError(problem, code="webhook_url")

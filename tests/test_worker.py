"""The worker as it runs: `manage.py procrastinate worker` in a process of its own, delivering webhooks to a
receiver in this test, and a worker killed with SIGKILL in the middle of a request losing nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from claims.models import DeliveryState, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import ROOT, SETTINGS_VARIABLES, the_test_database_url
from tests.factories import make_rated_claim
from tests.test_webhooks import Receiver
from tests.test_write_path import wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# A worker with no heartbeat for this long is dead (the setting; the stalled-job check runs every second).
STALLED_SECONDS = 3


class Worker:
    """`manage.py procrastinate worker` on the test database; its output is the log."""

    def __init__(self, log: Path) -> None:
        self.log = log
        inherited = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
        env = {
            **inherited,
            "DEBUG": "true",
            "DATABASE_URL": the_test_database_url(),
            # The receiver listens on 127.0.0.1.
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",
            "WORKER_STALLED_SECONDS": str(STALLED_SECONDS),
        }
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "procrastinate",
                    "worker",
                    "--concurrency=4",  # as the Makefile and compose run it
                    "--fetch-job-polling-interval=0.5",
                    "--shutdown-graceful-timeout=5",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(tmp_path) -> Iterator:
    started: list[Worker] = []

    def start() -> Worker:
        started.append(Worker(tmp_path / "worker.log"))
        return started[-1]

    start.log = tmp_path / "worker.log"  # type: ignore[attr-defined]
    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def receiver(settings) -> Iterator:
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def test_a_worker_process_delivers_a_committed_event(workers, receiver):
    hook = receiver()
    endpoint = WebhookEndpoint.objects.create(url=hook.url)
    workers()

    claim = make_rated_claim()  # committed: this test runs outside a transaction
    event = Event.objects.get(claim=claim)

    assert wait_until(lambda: len(hook.requests) == 1, timeout=25), workers.log.read_text()
    headers, body = hook.requests[0]
    assert Webhook(endpoint.secret).verify(body, headers)["data"] == event.payload
    assert headers["webhook-id"] == f"msg_{event.pk}"
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(state=DeliveryState.SUCCEEDED).exists(), timeout=10
    ), workers.log.read_text()


def test_a_worker_killed_mid_delivery_loses_nothing(workers, receiver):
    hook = receiver(hang_first=True)  # holds the first request unanswered
    WebhookEndpoint.objects.create(url=hook.url)
    first = workers()
    make_rated_claim()

    assert hook.arrived.wait(25), workers.log.read_text()
    assert WebhookAttempt.objects.get().finished is False  # recorded before the request, outcome unknown
    first.kill()  # SIGKILL: no clean-up, the job stays "doing", the heartbeat stops
    hook.release.set()

    workers()  # another worker finds the stalled job and runs it again
    assert wait_until(lambda: len(hook.requests) == 2, timeout=25), workers.log.read_text()
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(state=DeliveryState.SUCCEEDED).exists(), timeout=10
    ), workers.log.read_text()

    (first_headers, first_body), (second_headers, second_body) = hook.requests
    assert first_headers["webhook-id"] == second_headers["webhook-id"]  # the consumer dedupes by it
    assert first_body == second_body
    attempts = list(WebhookAttempt.objects.order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, None), (2, 200)]
    assert attempts[0].error.startswith("Interrupted")
    assert WebhookDelivery.objects.get().attempts == 2


def test_a_worker_retries_a_failed_delivery_on_its_schedule(workers, receiver):
    # The retry is a job the worker defers in the transaction that records the failure (on Django's
    # connection, not the worker's own pool); it runs about 5 s later (the schedule's first wait, ±20%).
    hook = receiver(answers=[(503, {}, b"busy"), (204, {}, b"")])
    WebhookEndpoint.objects.create(url=hook.url)
    workers()
    make_rated_claim()

    assert wait_until(lambda: len(hook.requests) == 2, timeout=25), workers.log.read_text()
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(state=DeliveryState.SUCCEEDED).exists(), timeout=10
    ), workers.log.read_text()
    first, second = WebhookAttempt.objects.order_by("number")
    assert (first.status_code, second.status_code) == (503, 204)
    assert 4 <= (second.started_at - first.started_at).total_seconds() < 15
    assert hook.requests[0][0]["webhook-id"] == hook.requests[1][0]["webhook-id"]


def test_a_hanging_receiver_does_not_hold_up_another_endpoints_delivery(workers, receiver):
    # Procrastinate runs each sync job in a thread of its own (asgiref's sync_to_async), and Django's
    # connections are per thread: the second delivery runs and records beside the first, whose request hangs
    # (until its 15 s are up). With one job at a time it would wait for them.
    slow = receiver(hang_first=True)
    slow_endpoint = WebhookEndpoint.objects.create(url=slow.url)
    workers()
    make_rated_claim()
    assert slow.arrived.wait(25), workers.log.read_text()
    hanging = WebhookDelivery.objects.get()

    fast = receiver()
    fast_endpoint = WebhookEndpoint.objects.create(url=fast.url)
    make_rated_claim()
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(
            endpoint=fast_endpoint, state=DeliveryState.SUCCEEDED
        ).exists(),
        timeout=10,
    ), workers.log.read_text()
    assert len(fast.requests) == 1
    # ...while the slow receiver's first attempt is still in its request.
    assert WebhookAttempt.objects.get(delivery=hanging).finished is False
    assert hanging.endpoint == slow_endpoint

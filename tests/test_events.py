"""claims.events.record_overdue and `manage.py record_overdue`: one claim.overdue event per published promise
or prediction and due date passed while its status is still open, however often and from however many places
it runs (the feed's lock and the claims_event_overdue_once constraint)."""

from __future__ import annotations

import io
import threading
from datetime import date

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connections, transaction

from claims.events import CHANGE_FEED_LOCK, record_overdue
from claims.models import Claim, Event, EventType, Kind
from claims.services import record_verdict, save_claim
from tests.conftest import the_test_database_url
from tests.factories import get_status, make_claim, make_rated_claim
from tests.test_changes_feed import _waiting_for_the_feed_lock
from tests.test_write_path import wait_until

pytestmark = pytest.mark.django_db

SAID = date(2025, 5, 19)
DUE = date(2025, 6, 30)
AFTER_DUE = date(2025, 7, 1)


def promise(status: str = "open", **fields) -> Claim:
    """A published promise, due on DUE, with the status given."""
    fields = {"kind": Kind.PROMISE, "said_on": SAID, "due_on": DUE, **fields}
    return make_rated_claim(status=get_status(status), **fields)


def overdue_events() -> list[Event]:
    return list(Event.objects.filter(type=EventType.OVERDUE).order_by("id"))


def test_a_claim_past_its_due_date_is_one_overdue_event_however_often_asked(statuses):
    claim = promise()

    first = record_overdue(AFTER_DUE)
    again = record_overdue(AFTER_DUE)
    later = record_overdue(date(2026, 1, 1))

    assert [event.claim_id for event in first] == [claim.pk]
    assert again == [] and later == []
    [event] = overdue_events()
    assert (event.claim_id, event.speaker_id, event.due_on) == (claim.pk, claim.speaker_id, DUE)


def test_the_overdue_event_carries_the_claim_its_status_and_the_due_date(statuses):
    claim = promise(status="in-progress", text="Ten new bridges by June.", slug="ten-bridges")

    [event] = record_overdue(AFTER_DUE)

    in_progress = get_status("in-progress")
    assert event.payload == {
        "claim": {
            "id": claim.pk,
            "slug": "ten-bridges",
            "text": "Ten new bridges by June.",
            "kind": "promise",
            "said_on": "2025-05-19",
            "due_on": "2025-06-30",
            "url": "/claims/ten-bridges/",
            "speaker": {"slug": claim.speaker.slug, "name": claim.speaker.name},
        },
        "status": {
            "slug": "in-progress",
            "label": in_progress.label,
            "scale": "tracking",
            "position": in_progress.position,
        },
        "from_status": None,
        "to_status": None,
        "verdict": None,
        "correction": None,
        "overdue": {"due_on": "2025-06-30", "overdue_since": "2025-07-01"},
    }
    assert event.status_change_id is None and event.correction_id is None


def test_a_new_due_date_that_passes_is_a_second_event(statuses):
    claim = promise()
    record_overdue(AFTER_DUE)
    claim.due_on = date(2025, 9, 30)
    save_claim(claim=claim, fields=["due_on"])

    assert record_overdue(date(2025, 9, 30)) == []  # due today: not overdue yet
    [second] = record_overdue(date(2025, 10, 1))

    assert [event.due_on for event in overdue_events()] == [DUE, date(2025, 9, 30)]
    assert second.payload["overdue"] == {"due_on": "2025-09-30", "overdue_since": "2025-10-01"}
    assert second.payload["claim"]["due_on"] == "2025-09-30"


def test_only_open_published_promises_and_predictions_past_their_due_date_become_overdue(statuses):
    overdue_promise = promise()
    overdue_prediction = promise(kind=Kind.PREDICTION, status="in-progress")
    promise(status="kept")  # settled
    promise(status="broken")  # settled
    promise(status="stalled")  # settled enough: a verdict said so
    promise(due_on=AFTER_DUE)  # due today
    promise(due_on=date(2025, 12, 31))  # due later
    make_claim(kind=Kind.PROMISE, said_on=SAID, due_on=DUE)  # unpublished: no verdict
    make_rated_claim(kind=Kind.FACT, status=get_status("unverified"))  # a fact has no due date

    events = record_overdue(AFTER_DUE)

    assert {event.claim_id for event in events} == {overdue_promise.pk, overdue_prediction.pk}


def test_a_claim_settled_after_it_became_overdue_is_not_overdue_again(statuses):
    claim = promise()
    record_overdue(AFTER_DUE)
    record_verdict(claim=claim, status=get_status("kept"), summary="Built, late.")

    assert record_overdue(date(2025, 8, 1)) == []
    assert len(overdue_events()) == 1


def test_the_overdue_events_are_in_the_events_feed(client, statuses):
    claim = promise()
    record_overdue(AFTER_DUE)

    body = client.get("/api/v1/events/?type=claim.overdue").json()

    [event] = body["results"]
    assert event["type"] == "claim.overdue"
    assert event["data"]["claim"]["id"] == claim.pk
    assert event["data"]["overdue"]["overdue_since"] == "2025-07-01"


def test_the_command_records_the_overdue_events_once(statuses):
    claim = promise(slug="bridges")
    out = io.StringIO()

    call_command("record_overdue", "--today", "2025-07-01", stdout=out)
    call_command("record_overdue", "--today", "2025-07-01", stdout=out)

    assert out.getvalue() == (
        "Overdue: bridges (due 2025-06-30)\n1 overdue event recorded.\n0 overdue events recorded.\n"
    )
    assert [event.claim_id for event in overdue_events()] == [claim.pk]
    with pytest.raises(CommandError, match="--today must be a date"):
        call_command("record_overdue", "--today", "July", stdout=out)


def test_the_command_judges_by_the_sites_today_by_default(statuses):
    promise()  # due 2025-06-30: long past on any day these tests run

    call_command("record_overdue", stdout=io.StringIO())

    assert len(overdue_events()) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_on_two_connections_record_one_event(statuses):
    """Run A finds the overdue claim, inserts its event and stays open; run B starts meanwhile. B waits for
    A's lock, then finds the event A committed: one event, and no error in either."""
    claim = promise()
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    results: dict[str, list[Event]] = {}
    errors: list[BaseException] = []

    def run(name: str, before_commit) -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                results[name] = record_overdue(AFTER_DUE)
                before_commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    def a_holds_its_transaction_open() -> None:
        a_inserted.set()
        a_may_commit.wait(timeout=20)

    thread_a = threading.Thread(target=run, args=("A", a_holds_its_transaction_open))
    thread_b = threading.Thread(target=run, args=("B", lambda: None))
    thread_a.start()
    try:
        assert a_inserted.wait(timeout=10), "A did not get to insert its event"
        thread_b.start()
        assert wait_until(lambda: _waiting_for_the_feed_lock() or not thread_b.is_alive())
        assert thread_b.is_alive(), "B did not wait for A: no lock serialises the runs"
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        if thread_b.ident is not None:
            thread_b.join(timeout=30)

    assert errors == []
    assert [event.claim_id for event in results["A"]] == [claim.pk]
    assert results["B"] == []
    assert len(overdue_events()) == 1


def test_the_database_refuses_a_second_overdue_event_for_the_same_due_date(statuses):
    """The constraint behind the lock: a writer that skips record_overdue cannot duplicate one either."""
    claim = promise()
    [event] = record_overdue(AFTER_DUE)

    with pytest.raises(IntegrityError, match="claims_event_overdue_once"), transaction.atomic():
        Event.objects.create(
            type=EventType.OVERDUE,
            claim=claim,
            speaker=claim.speaker,
            due_on=DUE,
            payload=event.payload,
            created_at=event.created_at,
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_skips_a_claim_an_editor_holds_and_cannot_deadlock_with_its_publication(statuses):
    """An editor publishing on a claim holds its row, then waits for the feed's lock. A run taking the feed's
    lock first and then needing that row (its event's foreign key) would deadlock with them: the run locks
    its rows first, skips the held claim (taken at the next run) and never waits for the editor."""
    held, free = promise(), promise()
    with psycopg.connect(the_test_database_url()) as editor:
        editor.execute("SELECT id FROM claims_claim WHERE id = %s FOR UPDATE", [held.pk])
        with transaction.atomic():
            with connections["default"].cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")  # a wait for the editor fails the test
            assert [event.claim_id for event in record_overdue(AFTER_DUE)] == [free.pk]
        # What the publication takes next is free at once: the run has committed and let it go.
        editor.execute("SET LOCAL lock_timeout = '5s'")
        editor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_FEED_LOCK])
        editor.rollback()
    assert [event.claim_id for event in record_overdue(AFTER_DUE)] == [held.pk]

"""/api/v1/changes/: every published status change, oldest first, resumable with ?after=<last id>.

The last test runs two publishing transactions at once, on two database connections, to show that a
consumer polling the feed never sees a higher id committed before a lower one.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from claims.events import CHANGE_FEED_LOCK
from claims.models import Kind, StatusChange
from claims.services import record_verdict
from tests.factories import SITE_CLOCK, get_status, make_claim, make_rated_claim, make_rated_claims
from tests.test_api_errors import parameter_errors
from tests.test_write_path import wait_until

# Every field a status change always had, and the two the corrections added (issue 7): `type`, and
# `correction` (null on a status change).
CHANGE_FIELDS = {"id", "claim", "from_status", "to_status", "verdict", "at", "type", "correction"}


@pytest.mark.django_db
def test_the_feed_lists_every_published_change_oldest_first_with_its_fields(client, statuses):
    claim = make_claim(slug="nine-people", text="Nine people each.", kind=Kind.FACT)
    first = record_verdict(claim=claim, status=get_status("unverified"), summary="Checking.")
    second = record_verdict(claim=claim, status=get_status("false"), summary="It was three.")
    record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)

    response = client.get("/api/v1/changes/")

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    older, newer = body["results"]
    assert body["last_id"] == newer["id"]
    assert set(older) == CHANGE_FIELDS
    assert older["claim"] == {
        "id": claim.id,
        "slug": "nine-people",
        "text": "Nine people each.",
        "url": f"http://testserver/api/v1/claims/{claim.id}/",
        "html_url": "http://testserver/claims/nine-people/",
    }
    unverified = get_status("unverified")
    assert older["from_status"] is None
    assert older["to_status"] == {
        "slug": "unverified",
        "label": unverified.label,
        "scale": "accuracy",
        "position": unverified.position,
    }
    assert older["verdict"] == first.id
    assert (older["type"], older["correction"]) == ("status_change", None)
    assert older["at"] == first.published_at.isoformat().replace("+00:00", "Z")
    assert newer["from_status"]["slug"] == "unverified"
    assert newer["to_status"] == {"slug": "false", "label": "False", "scale": "accuracy", "position": 1}
    assert newer["verdict"] == second.id
    assert older["id"] < newer["id"]


@pytest.mark.django_db
def test_the_feeds_ids_are_consecutive(statuses):
    """Each change draws one id, under the feed's lock: none is thrown away (0007 drew two per change)."""
    claim = make_claim(kind=Kind.PROMISE)
    for slug in ("open", "stalled", "kept"):
        record_verdict(claim=claim, status=get_status(slug), summary=f"Now {slug}.")

    ids = list(StatusChange.objects.order_by("id").values_list("id", flat=True))

    assert ids == list(range(ids[0], ids[0] + 3))


@pytest.mark.django_db
def test_a_consumer_that_keeps_the_last_id_sees_each_change_once(client, statuses):
    claims = make_rated_claims(3, kind=Kind.PROMISE)
    first_read = client.get("/api/v1/changes/").json()
    assert len(first_read["results"]) == 3

    record_verdict(claim=claims[0], status=get_status("broken"), summary="Revisited.")
    second_read = client.get(f"/api/v1/changes/?after={first_read['last_id']}").json()
    third_read = client.get(f"/api/v1/changes/?after={second_read['last_id']}").json()

    assert [c["claim"]["id"] for c in second_read["results"]] == [claims[0].id]
    assert second_read["results"][0]["to_status"]["slug"] == "broken"
    assert third_read["results"] == []
    assert third_read["last_id"] == second_read["last_id"]
    assert third_read["next"] is None


@pytest.mark.django_db
def test_the_feed_pages_with_a_next_link_that_resumes_after_the_last_id(client, statuses):
    make_rated_claims(5)
    every_id = list(StatusChange.objects.order_by("id").values_list("id", flat=True))

    page1 = client.get("/api/v1/changes/?page_size=2").json()
    page2 = client.get(page1["next"]).json()
    page3 = client.get(page2["next"]).json()

    assert page1["next"] == f"http://testserver/api/v1/changes/?after={every_id[1]}&page_size=2"
    assert [c["id"] for c in page1["results"] + page2["results"] + page3["results"]] == every_id
    assert page3["next"] is None
    assert page3["last_id"] == every_id[-1]


@pytest.mark.django_db
def test_the_feed_pages_are_a_hundred_by_default_and_at_most_a_thousand(client, statuses):
    claim = make_claim(kind=Kind.PROMISE)
    for n in range(101):
        record_verdict(claim=claim, status=get_status("broken" if n % 2 else "kept"), summary=f"Round {n}.")

    default = client.get("/api/v1/changes/").json()
    capped = client.get("/api/v1/changes/?page_size=5000").json()

    assert len(default["results"]) == 100
    assert default["next"] is not None
    assert len(capped["results"]) == 101
    assert capped["next"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("after=abc", "after", "Must be a whole number from 0 to 9223372036854775807."),
        ("after=-1", "after", "Must be a whole number from 0 to 9223372036854775807."),
        ("after=1.5", "after", "Must be a whole number from 0 to 9223372036854775807."),
        ("after=%C2%B2", "after", "Must be a whole number from 0 to 9223372036854775807."),  # a superscript 2
        ("after=99999999999999999999", "after", "Must be a whole number from 0 to 9223372036854775807."),
        ("page_size=0", "page_size", "Must be a whole number from 1 to 1000."),
        ("page_size=many", "page_size", "Must be a whole number from 1 to 1000."),
    ],
)
def test_a_bad_feed_parameter_is_a_400_that_says_what_is_wrong(client, statuses, query, field, message):
    make_rated_claim()

    response = client.get(f"/api/v1/changes/?{query}")

    assert parameter_errors(response) == {field: [message]}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["after=%00", "after=1%00", "after=%ED%A0%80"])
def test_a_nul_byte_or_lone_surrogate_in_after_is_a_400(client, statuses, query):
    assert client.get(f"/api/v1/changes/?{query}").status_code == 400


@pytest.mark.django_db
def test_after_beyond_the_last_change_is_an_empty_page(client, statuses):
    make_rated_claim()

    body = client.get("/api/v1/changes/?after=9223372036854775807").json()

    assert body == {"next": None, "last_id": 9223372036854775807, "results": []}


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_a_feed_page_is_one_query_at_any_size(client, statuses, django_assert_num_queries, count):
    make_rated_claims(count)

    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get("/api/v1/changes/?page_size=50")

    assert len(response.json()["results"]) == count


# --- two publications at once -----------------------------------------------------------------------------


def _waiting_for_the_feed_lock() -> bool:
    """True when some connection is queued for the changes feed's advisory lock (pg_locks, not granted)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [CHANGE_FEED_LOCK],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_publications_at_once_commit_their_changes_in_id_order(statuses):
    """Transaction A inserts its StatusChange and stays open; B publishes on another claim meanwhile.

    B must wait for A (the advisory lock): had B committed first, a consumer reading the feed then
    would have seen B's id, kept it, and never seen A's lower id.
    """
    claim_a = make_rated_claim(kind=Kind.PROMISE, status=get_status("kept"))
    claim_b = make_rated_claim(kind=Kind.PROMISE, status=get_status("kept"))
    last_seen = StatusChange.objects.order_by("-id").values_list("id", flat=True).first()
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    committed: list[str] = []
    errors: list[BaseException] = []

    def publish(name: str, claim, before_commit) -> None:
        try:
            with transaction.atomic():
                # Bounded waits: neither thread can hang the test run.
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                record_verdict(claim=claim, status=get_status("broken"), summary=f"{name} publishes.")
                before_commit()
            committed.append(name)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    def a_holds_its_transaction_open() -> None:
        a_inserted.set()
        a_may_commit.wait(timeout=20)

    thread_a = threading.Thread(target=publish, args=("A", claim_a, a_holds_its_transaction_open))
    thread_b = threading.Thread(target=publish, args=("B", claim_b, lambda: None))
    thread_a.start()
    try:
        assert a_inserted.wait(timeout=10), "A did not get to insert its change"
        thread_b.start()

        b_is_waiting = wait_until(lambda: _waiting_for_the_feed_lock() or not thread_b.is_alive())
        assert b_is_waiting and thread_b.is_alive(), (
            "B did not wait for A's transaction: no lock serialises them"
        )
        assert committed == []

        reader = Client()
        during = reader.get(f"/api/v1/changes/?after={last_seen}").json()
        assert during["results"] == []  # neither is committed, so a reader sees neither
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        if thread_b.ident is not None:  # started
            thread_b.join(timeout=30)

    assert not thread_a.is_alive() and not thread_b.is_alive()
    assert errors == []
    assert committed == ["A", "B"]
    after = Client().get(f"/api/v1/changes/?after={last_seen}").json()
    assert [c["claim"]["id"] for c in after["results"]] == [claim_a.id, claim_b.id]
    a_id, b_id = (item["id"] for item in after["results"])
    assert last_seen < a_id < b_id

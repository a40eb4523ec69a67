"""The events feed (/api/v1/events/) and the Atom feeds of events (/feed/, /speakers/<slug>/feed/,
/claims/<slug>/feed/): every public event, commit-ordered, resumable with ?after=<last id>, filtered by
claim, speaker and type; the Atom feeds valid (RFC 4287), escaped, bounded and newest first.

The completeness test runs two writing transactions at once, on two database connections, to show that a
consumer polling ?after= never skips an event committed late with a lower id.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET  # our own feeds, from the test client: trusted
from datetime import date

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from claims.events import record_overdue
from claims.models import Claim, Event, EventType, Kind, Speaker
from claims.services import record_verdict
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_rated_claims,
    make_speaker,
)
from tests.test_api_errors import parameter_errors
from tests.test_changes_feed import _waiting_for_the_feed_lock
from tests.test_corrections import corrected
from tests.test_write_path import wait_until

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
EVENT_FIELDS = {"id", "type", "timestamp", "data"}
DATA_FIELDS = {"claim", "status", "from_status", "to_status", "verdict", "correction", "overdue"}
AFTER_DUE = date(2025, 7, 1)


def overdue_promise(**fields) -> Claim:
    fields = {"kind": Kind.PROMISE, "said_on": date(2025, 5, 19), "due_on": date(2025, 6, 30), **fields}
    return make_rated_claim(status=get_status("open"), **fields)


def feed(query: str = "") -> dict:
    return Client().get(f"/api/v1/events/{query}").json()


# --- the JSON feed -----------------------------------------------------------------------------------------


def test_the_feed_lists_every_kind_of_event_oldest_first_with_what_to_act_on(client, statuses):
    claim = overdue_promise(slug="bridges", text="Ten bridges by June.")  # its first verdict: Open
    record_overdue(AFTER_DUE)
    verdict = record_verdict(claim=claim, status=get_status("broken"), summary="No bridge was built.")
    corrected(claim, "The promise was of ten bridges, not twelve.", text="Twelve bridges by June.")

    response = client.get("/api/v1/events/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "last_id", "results"} and body["next"] is None
    events = body["results"]
    assert [e["type"] for e in events] == [
        "claim.status_changed",
        "claim.overdue",
        "claim.status_changed",
        "claim.corrected",
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert body["last_id"] == events[-1]["id"]
    for event in events:
        assert set(event) == EVENT_FIELDS and set(event["data"]) == DATA_FIELDS
        stored = Event.objects.get(pk=event["id"])
        assert event["data"] == stored.payload  # the body a webhook delivers, unchanged
        assert event["timestamp"] == stored.created_at.isoformat().replace("+00:00", "Z")
    first, overdue, changed, correction = events
    assert first["data"]["from_status"] is None and first["data"]["to_status"]["slug"] == "open"
    assert overdue["data"]["overdue"] == {"due_on": "2025-06-30", "overdue_since": "2025-07-01"}
    assert changed["data"]["from_status"]["slug"] == "open"
    assert changed["data"]["to_status"]["slug"] == "broken"
    assert changed["data"]["verdict"]["id"] == verdict.pk
    assert changed["data"]["verdict"]["summary"] == "No bridge was built."
    assert changed["data"]["claim"]["text"] == "Ten bridges by June."  # as it was then
    assert correction["data"]["correction"]["note"] == "The promise was of ten bridges, not twelve."
    assert correction["data"]["claim"]["text"] == "Twelve bridges by June."
    assert correction["data"]["claim"]["speaker"] == {"slug": claim.speaker.slug, "name": claim.speaker.name}


def test_a_consumer_that_keeps_the_last_id_sees_each_event_once(statuses):
    claims = make_rated_claims(3, kind=Kind.PROMISE)
    first_read = feed()
    assert len(first_read["results"]) == 3

    record_verdict(claim=claims[0], status=get_status("broken"), summary="Revisited.")
    second_read = feed(f"?after={first_read['last_id']}")
    third_read = feed(f"?after={second_read['last_id']}")

    assert [e["data"]["claim"]["id"] for e in second_read["results"]] == [claims[0].pk]
    assert third_read == {"next": None, "last_id": second_read["last_id"], "results": []}


def test_the_next_link_resumes_after_the_last_id_and_keeps_the_filters(statuses):
    speaker = make_speaker(slug="mayor")
    make_rated_claims(5, speaker=speaker)
    make_rated_claims(2)  # another speaker's
    ids = list(Event.objects.filter(speaker=speaker).order_by("id").values_list("id", flat=True))

    page1 = feed("?speaker=mayor&page_size=2&type=claim.status_changed")
    page2 = Client().get(page1["next"]).json()
    page3 = Client().get(page2["next"]).json()

    assert page1["next"] == (
        f"http://testserver/api/v1/events/?after={ids[1]}&page_size=2&speaker=mayor&type=claim.status_changed"
    )
    assert [e["id"] for e in page1["results"] + page2["results"] + page3["results"]] == ids
    assert page3["next"] is None


def test_the_feed_filters_by_claim_speaker_and_type(statuses):
    speaker = make_speaker(slug="old-name")
    mine = overdue_promise(speaker=speaker)
    other = overdue_promise()
    record_overdue(AFTER_DUE)
    corrected(other, text="Corrected text.")
    Speaker.objects.filter(pk=speaker.pk).update(slug="new-name")

    def claims_of(query: str) -> list[tuple[str, int]]:
        return [(e["type"], e["data"]["claim"]["id"]) for e in feed(query)["results"]]

    assert claims_of(f"?claim={mine.pk}") == [("claim.status_changed", mine.pk), ("claim.overdue", mine.pk)]
    assert claims_of("?speaker=new-name") == claims_of(f"?claim={mine.pk}")
    assert claims_of("?speaker=old-name") == claims_of(f"?claim={mine.pk}")  # a former slug still works
    assert claims_of("?type=claim.overdue") == [("claim.overdue", mine.pk), ("claim.overdue", other.pk)]
    both = [("claim.overdue", mine.pk), ("claim.overdue", other.pk), ("claim.corrected", other.pk)]
    assert claims_of("?type=claim.overdue,claim.corrected") == both
    assert claims_of("?type=claim.overdue&type=claim.corrected") == both
    assert claims_of(f"?type=claim.corrected&claim={mine.pk}") == []
    assert claims_of("?type=") == claims_of("")  # empty: no filter, as elsewhere in the API
    assert claims_of(f"?claim={other.pk + 1000}") == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "type=claim.deleted",
            "type",
            "There is no event type “claim.deleted”. The types are: claim.status_changed, claim.corrected, "
            "claim.overdue.",
        ),
        (
            "type=claim.overdue,nope",
            "type",
            "There is no event type “nope”. The types are: claim.status_changed, claim.corrected, "
            "claim.overdue.",
        ),
        ("speaker=nobody", "speaker", "There is no speaker “nobody” with published claims."),
        ("claim=abc", "claim", "Must be a claim's id: a whole number from 1 to 9223372036854775807."),
        ("after=-1", "after", "Must be a whole number from 0 to 9223372036854775807."),
        ("page_size=0", "page_size", "Must be a whole number from 1 to 1000."),
        ("limit=5", "limit", None),
    ],
)
def test_a_bad_feed_parameter_is_a_400_that_names_it(client, statuses, query, field, message):
    make_rated_claim()

    errors = parameter_errors(client.get(f"/api/v1/events/?{query}"))

    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]


def test_a_speaker_without_published_claims_is_unknown_to_the_feed(client, statuses):
    make_claim(speaker=make_speaker(slug="quiet"))

    assert parameter_errors(client.get("/api/v1/events/?speaker=quiet")) == {
        "speaker": ["There is no speaker “quiet” with published claims."]
    }


@pytest.mark.parametrize("count", [1, 30])
def test_a_feed_page_is_one_query_at_any_size(client, statuses, django_assert_num_queries, count):
    speaker = make_speaker(slug="many")
    claims = make_rated_claims(count, speaker=speaker)

    with django_assert_num_queries(SITE_CLOCK + 1):
        assert len(client.get("/api/v1/events/?page_size=50").json()["results"]) == count
    with django_assert_num_queries(SITE_CLOCK + 1):
        response = client.get(f"/api/v1/events/?claim={claims[0].pk}&type=claim.status_changed,claim.overdue")
        assert len(response.json()["results"]) == 1
    # A speaker's slug is read first, as on the claim list: one query more.
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert len(client.get("/api/v1/events/?speaker=many").json()["results"]) == count


def test_each_filter_reads_its_own_index_in_the_feeds_order(statuses):
    """With enough rows for the planner to choose, each filter is a range of its own index, the filter and
    `after` both its index condition (so a page reads only that claim's, speaker's or type's events above
    `after`), and the unfiltered feed a range of the primary key: never a scan of the table."""
    speakers = [make_speaker() for _ in range(100)]
    claims = [make_claim(kind=Kind.PROMISE, speaker=speaker, due_on=date(2030, 1, 1)) for speaker in speakers]
    rated = make_rated_claim()  # one status change among thousands of overdue events
    Event.objects.bulk_create(
        Event(
            type=EventType.OVERDUE,
            claim=claims[n % 100],
            speaker=speakers[n % 100],
            due_on=date.fromordinal(date(2026, 1, 1).toordinal() + n),
            payload={},
            created_at=rated.status_changed_at,
        )
        for n in range(10000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_event")

    def plan(**filters) -> str:
        plan = Event.objects.filter(**filters).page_query(after=10, limit=101).explain()
        assert "Seq Scan" not in plan
        return plan

    claim_plan = plan(claim=claims[7])
    assert "claims_event_claim_idx" in claim_plan
    assert f"Index Cond: ((claim_id = {claims[7].pk}) AND (id > 10))" in claim_plan
    speaker_plan = plan(speaker=speakers[7])
    assert "claims_event_speaker_idx" in speaker_plan
    assert f"Index Cond: ((speaker_id = {speakers[7].pk}) AND (id > 10))" in speaker_plan
    one_type = plan(type__in=[EventType.STATUS_CHANGED])
    assert "claims_event_type_idx" in one_type
    assert "Index Cond: (((type)::text = 'claim.status_changed'::text) AND (id > 10))" in one_type
    assert "claims_event_type_idx" in plan(type__in=[EventType.STATUS_CHANGED, EventType.CORRECTED])
    assert "Index Cond: (id > 10)" in plan() and "claims_event_pkey" in plan()


# --- no event skipped: two writers at once -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_committed_late_is_not_skipped_by_a_reader_polling_after(statuses):
    """Transaction A inserts an event (a claim become overdue) and stays open; B publishes a verdict
    meanwhile.

    B must wait for A (the feed's advisory lock, held to commit): had B's event committed first, a reader
    polling ?after= would have seen B's id, kept it, and never seen A's lower one.
    """
    overdue_promise()
    claim_b = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    last_seen = feed()["last_id"]
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    committed: list[str] = []
    errors: list[BaseException] = []

    def run(name: str, work, before_commit) -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                work()
                before_commit()
            committed.append(name)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    def a_holds_its_transaction_open() -> None:
        a_inserted.set()
        a_may_commit.wait(timeout=20)

    thread_a = threading.Thread(
        target=run, args=("A", lambda: record_overdue(AFTER_DUE), a_holds_its_transaction_open)
    )
    thread_b = threading.Thread(
        target=run,
        args=(
            "B",
            lambda: record_verdict(claim=claim_b, status=get_status("kept"), summary="B publishes."),
            lambda: None,
        ),
    )
    seen: list[int] = []
    thread_a.start()
    try:
        assert a_inserted.wait(timeout=10), "A did not get to insert its event"
        thread_b.start()
        assert wait_until(lambda: _waiting_for_the_feed_lock() or not thread_b.is_alive())
        assert thread_b.is_alive(), "B did not wait for A's transaction: no lock serialises them"
        # The reader polls while neither has committed: it sees neither, and keeps its place.
        during = feed(f"?after={last_seen}")
        assert during["results"] == [] and during["last_id"] == last_seen
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        if thread_b.ident is not None:
            thread_b.join(timeout=30)

    assert errors == [] and committed == ["A", "B"]
    # The reader resumes from the id it kept, page by page: it sees A's event, then B's.
    after = last_seen
    while True:
        page = feed(f"?after={after}&page_size=1")
        seen += [e["id"] for e in page["results"]]
        after = page["last_id"]
        if page["next"] is None:
            break
    types = [Event.objects.get(pk=pk).type for pk in seen]
    assert types == [EventType.OVERDUE, EventType.STATUS_CHANGED]
    assert seen == sorted(seen) and seen[0] > last_seen
    assert set(seen) == set(Event.objects.filter(id__gt=last_seen).values_list("id", flat=True))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_written_outside_claims_events_draws_its_id_only_once_it_holds_the_lock(statuses):
    """Two writers that skip claims.events (which locks before it inserts): B's insert waits for A's lock
    before it has an id, so it cannot draw a lower id than one committed after it (migration 0021)."""
    claim = overdue_promise()
    a_inserted, a_may_commit = threading.Event(), threading.Event()
    ids: dict[str, int] = {}
    errors: list[BaseException] = []

    def insert(name: str, due_on: date, before_commit) -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                event = Event.objects.create(
                    type=EventType.OVERDUE,
                    claim=claim,
                    speaker_id=claim.speaker_id,
                    due_on=due_on,
                    payload={"written": name},
                    created_at=claim.status_changed_at,
                )
                ids[name] = event.pk
                before_commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    def a_holds_its_transaction_open() -> None:
        a_inserted.set()
        a_may_commit.wait(timeout=20)

    thread_a = threading.Thread(target=insert, args=("A", date(2025, 1, 1), a_holds_its_transaction_open))
    thread_b = threading.Thread(target=insert, args=("B", date(2025, 1, 2), lambda: None))
    thread_a.start()
    try:
        assert a_inserted.wait(timeout=10), "A did not get to insert its event"
        thread_b.start()
        assert wait_until(lambda: _waiting_for_the_feed_lock() or not thread_b.is_alive())
        assert thread_b.is_alive(), "B did not wait for A's lock"
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_value FROM claims_event_id_seq")
            drawn = cursor.fetchone()[0]
        assert drawn == ids["A"], "B drew an id before it held the lock"
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        if thread_b.ident is not None:
            thread_b.join(timeout=30)

    assert errors == []
    assert ids["B"] == ids["A"] + 1


def test_event_ids_are_consecutive(statuses):
    """One id per event, drawn under the lock: none thrown away."""
    claim = overdue_promise()
    record_overdue(AFTER_DUE)
    record_verdict(claim=claim, status=get_status("kept"), summary="Kept.")

    ids = list(Event.objects.order_by("id").values_list("id", flat=True))

    assert ids == list(range(ids[0], ids[0] + 3))


# --- Atom --------------------------------------------------------------------------------------------------


def atom(client, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.content)  # noqa: S314


def assert_valid_atom(root: ET.Element) -> list[ET.Element]:
    """RFC 4287's required elements: the feed's id, title, updated and author (or every entry's), and each
    entry's id, title, updated and a link; ids unique. Returns the entries."""
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1 and root.findtext(f"{ATOM}{name}").strip(), name
    assert root.find(f"{ATOM}author/{ATOM}name").text
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated", "published"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1 and entry.findtext(f"{ATOM}{name}"), name
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("http://testserver/")
        summary = entry.find(f"{ATOM}summary")
        assert summary is not None and summary.get("type") == "text"
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids)
    return entries


def test_the_atom_feed_has_every_event_newest_first_with_its_title_link_and_summary(client, statuses):
    speaker = make_speaker(name="Ada Mayor", slug="ada")
    claim = overdue_promise(speaker=speaker, slug="bridges", text="Ten bridges by June.")
    record_overdue(AFTER_DUE)
    verdict = record_verdict(claim=claim, status=get_status("broken"), summary="No bridge was built.")
    corrected(claim, "It was ten, not twelve.", text="Twelve bridges by June.")
    events = list(Event.objects.order_by("-id"))

    root = atom(client, "/feed/")

    entries = assert_valid_atom(root)
    assert root.findtext(f"{ATOM}title") == "factcheck: status changes, corrections and overdue claims"
    assert root.findtext(f"{ATOM}updated") == events[0].created_at.isoformat()
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Corrected: Ada Mayor: Twelve bridges by June.",
        "Ada Mayor: Ten bridges by June. — Open → Broken",
        "Overdue: Ada Mayor: Ten bridges by June.",
        "Ada Mayor: Ten bridges by June. — Open",
    ]
    corrected_link, changed_link, overdue_link, _ = (e.find(f"{ATOM}link").get("href") for e in entries)
    correction_id = events[0].correction_id
    assert corrected_link == f"http://testserver/claims/bridges/#correction-{correction_id}"
    assert changed_link == f"http://testserver/claims/bridges/#verdict-{verdict.pk}"
    assert overdue_link == "http://testserver/claims/bridges/#due-on"
    assert [e.findtext(f"{ATOM}summary") for e in entries[:3]] == [
        "It was ten, not twelve. (Changed: text.)",
        "No bridge was built.",
        "Due on 30 June 2025; overdue since 1 July 2025. Still Open.",
    ]
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"tag:testserver,{event.created_at:%Y-%m-%d}:event/{event.pk}" for event in events
    ]
    assert [e.find(f"{ATOM}category").get("term") for e in entries] == [event.type for event in events]
    # The anchors are on the claim's page.
    page = client.get("/claims/bridges/").content.decode()
    assert f'id="correction-{correction_id}"' in page and f'id="verdict-{verdict.pk}"' in page
    assert 'id="due-on"' in page


def test_an_entrys_id_stays_when_the_claim_is_renamed_and_its_link_follows(client, statuses):
    claim = make_rated_claim(slug="first-name")
    before = atom(client, "/feed/").find(f"{ATOM}entry")
    corrected(claim, "Renamed.", text="A new text.", slug="second-name")

    after = atom(client, "/feed/").findall(f"{ATOM}entry")[-1]

    assert after.findtext(f"{ATOM}id") == before.findtext(f"{ATOM}id")
    assert after.find(f"{ATOM}link").get("href").startswith("http://testserver/claims/second-name/#verdict-")


def test_the_atom_feeds_escape_what_the_claim_says(client, statuses):
    text = 'He said "<script>alert(1)</script>" & left.'
    claim = make_rated_claim(slug="escaped", text=text, speaker=make_speaker(name="O'Brien & <b>Co</b>"))
    corrected(claim, "<img src=x onerror=alert(2)> & a 'note'", quote="New quote", fidelity="paraphrase")

    for url in ("/feed/", "/claims/escaped/feed/", f"/speakers/{claim.speaker.slug}/feed/"):
        response = client.get(url)
        raw = response.content.decode()
        assert "<script>" not in raw and "<img" not in raw and "<b>" not in raw
        entries = assert_valid_atom(ET.fromstring(response.content))  # noqa: S314
        titles = [entry.findtext(f"{ATOM}title") for entry in entries]
        assert titles == [
            f"Corrected: O'Brien & <b>Co</b>: {text}",
            f"O'Brien & <b>Co</b>: {text} — True",
        ]
        assert (
            entries[0].findtext(f"{ATOM}summary")
            == "<img src=x onerror=alert(2)> & a 'note' (Changed: quote.)"
        )


def test_the_speaker_and_claim_feeds_have_only_their_events(client, statuses):
    speaker = make_speaker(name="Ada Mayor", slug="ada")
    mine = overdue_promise(speaker=speaker, slug="mine")
    also_mine = make_rated_claim(speaker=speaker, slug="also-mine")
    make_rated_claim(slug="someone-elses")
    record_overdue(AFTER_DUE)

    speaker_feed = atom(client, "/speakers/ada/feed/")
    claim_feed = atom(client, "/claims/mine/feed/")

    def claims_in(root: ET.Element) -> list[str]:
        return [e.find(f"{ATOM}link").get("href").split("/")[4] for e in assert_valid_atom(root)]

    assert claims_in(speaker_feed) == ["mine", "also-mine", "mine"]
    assert claims_in(claim_feed) == ["mine", "mine"]
    assert speaker_feed.findtext(f"{ATOM}title") == (
        "Ada Mayor: status changes, corrections and overdue claims — factcheck"
    )
    assert speaker_feed.find(f"{ATOM}link[@rel='alternate']").get("href") == "http://testserver/speakers/ada/"
    assert claim_feed.find(f"{ATOM}link[@rel='alternate']").get("href") == "http://testserver/claims/mine/"
    feed_ids = {root.findtext(f"{ATOM}id") for root in (speaker_feed, claim_feed, atom(client, "/feed/"))}
    assert len(feed_ids) == 3
    assert also_mine.pk != mine.pk


def test_a_feed_of_an_unknown_or_unpublished_claim_or_speaker_is_a_404(client, statuses):
    make_claim(slug="draft", speaker=make_speaker(slug="quiet"))

    for url in (
        "/claims/nothing/feed/",
        "/claims/draft/feed/",
        "/speakers/nobody/feed/",
        "/speakers/quiet/feed/",
    ):
        assert client.get(url).status_code == 404, url


def test_a_feed_at_an_old_slug_redirects_as_the_page_does(client, statuses):
    claim = make_rated_claim(slug="old-claim", speaker=make_speaker(slug="old-speaker"))
    corrected(claim, "Renamed.", slug="new-claim")
    Speaker.objects.filter(pk=claim.speaker_id).update(slug="new-speaker")

    claim_feed = client.get("/claims/old-claim/feed/")
    speaker_feed = client.get("/speakers/old-speaker/feed/")

    assert (claim_feed.status_code, claim_feed["Location"]) == (301, "/claims/new-claim/feed/")
    assert (speaker_feed.status_code, speaker_feed["Location"]) == (301, "/speakers/new-speaker/feed/")
    assert client.get("/claims/old-claim/")["Location"] == "/claims/new-claim/"


def test_an_atom_feed_carries_the_latest_fifty_events(client, statuses):
    claim = make_rated_claim(kind=Kind.PROMISE, slug="busy")
    for n in range(55):
        record_verdict(claim=claim, status=get_status("kept" if n % 2 else "broken"), summary=f"Round {n}.")
    newest = list(Event.objects.order_by("-id").values_list("id", flat=True)[:50])

    for url in ("/feed/", "/claims/busy/feed/", f"/speakers/{claim.speaker.slug}/feed/"):
        entries = assert_valid_atom(atom(client, url))
        assert [int(e.findtext(f"{ATOM}id").rsplit("/", 1)[1]) for e in entries] == newest
        assert entries[0].findtext(f"{ATOM}summary") == "Round 54."


def test_an_empty_feed_is_still_valid(client, statuses):
    root = atom(client, "/feed/")

    assert assert_valid_atom(root) == []


@pytest.mark.parametrize("count", [1, 20])
def test_an_atom_feed_costs_the_same_queries_for_1_and_20_events(
    client, statuses, django_assert_num_queries, count
):
    speaker = make_speaker(slug="ada")
    claim = overdue_promise(speaker=speaker, slug="mine")
    for n in range(count - 1):
        record_verdict(claim=claim, status=get_status("kept" if n % 2 else "open"), summary=f"Round {n}.")

    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get("/feed/").content.count(b"<entry>") == count
    # The speaker or claim, then its events.
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert client.get("/speakers/ada/feed/").content.count(b"<entry>") == count
    with django_assert_num_queries(SITE_CLOCK + 2):
        assert client.get("/claims/mine/feed/").content.count(b"<entry>") == count


def test_the_pages_link_to_their_atom_feeds(client, statuses):
    make_rated_claim(slug="bridges", speaker=make_speaker(slug="ada", name="Ada Mayor"))

    def feeds_of(url: str) -> list[str]:
        html = client.get(url).content.decode()
        return [
            line.split('href="')[1].split('"')[0]
            for line in html.split("<link ")[1:]
            if 'rel="alternate" type="application/atom+xml"' in line
        ]

    assert feeds_of("/") == ["/feed/"]
    assert feeds_of("/speakers/ada/") == ["/speakers/ada/feed/"]
    assert feeds_of("/claims/bridges/") == ["/claims/bridges/feed/", "/corrections/feed/"]
    html = client.get("/speakers/ada/").content.decode()
    assert 'title="Ada Mayor: status changes, corrections and overdue claims — factcheck"' in html

"""The claim tallies (migration 0026): the per-status counts of the home page, a speaker's page and the API's
speakers, kept by the database at every write to the claims and never stale after a publication.

Each test compares the tallies with a real count of the claims (`assert_tallies_right`), after the write
under test and after a fold. The last tests run writers on two database connections at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client

from claims import tasks
from claims.models import (
    TALLY_FOLD_LOCK,
    Claim,
    Kind,
    Speaker,
    SpeakerTally,
    Status,
    StatusTally,
    fold_tallies,
)
from claims.services import record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_rated_claims, make_speaker
from tests.test_corrections import corrected
from tests.test_write_path import wait_until


def status_counts() -> dict[str, int]:
    """The home page's counts (Status.objects.with_claim_counts()), by slug, zeros left out."""
    return {s.slug: s.claim_count for s in Status.objects.with_claim_counts() if s.claim_count}


def real_counts() -> tuple[Counter, Counter]:
    """The published claims counted: per status slug, and per (speaker id, status slug)."""
    rows = list(Claim.objects.published().values_list("speaker_id", "status__slug"))
    return Counter(slug for _, slug in rows), Counter(rows)


def assert_tallies_right() -> None:
    """Both tallies (as read, and once folded) agree with a count of the claims."""
    by_status, by_speaker = real_counts()
    for _ in range(2):
        assert status_counts() == dict(by_status)
        speaker_ids = {speaker for speaker, _ in by_speaker}
        read = {
            (speaker.pk, status.slug): status.claim_count
            for speaker in Speaker.objects.filter(pk__in=speaker_ids)
            for status in Status.objects.with_claim_counts(speaker=speaker)
            if status.claim_count
        }
        assert read == dict(by_speaker)
        assert fold_tallies()


def home_counts(client: Client) -> dict[str, int]:
    """The counts the home page shows, by status slug (as tests/test_pages.py reads them)."""
    html = client.get("/").content.decode()
    found = re.findall(
        r'href="/claims/\?status=([\w-]+)"><span class="badge"[^>]*>[^<]+</span>\s*</a>\s*'
        r'<span class="count">(\d+) claims?</span>',
        html,
    )
    return {slug: int(count) for slug, count in found}


@pytest.mark.django_db
def test_a_publication_counts_at_once_on_the_home_page(client, statuses):
    assert home_counts(client)["false"] == 0
    claim = make_claim(kind=Kind.FACT)
    assert home_counts(client)["false"] == 0  # not published: not counted

    record_verdict(claim=claim, status=get_status("false"), summary="It was three.")

    assert home_counts(client)["false"] == 1
    assert_tallies_right()


@pytest.mark.django_db
def test_a_draft_counts_nothing(statuses):
    claim = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    record_verdict(claim=claim, status=get_status("kept"), summary="A draft.", publish=False)
    assert status_counts() == {"open": 1}
    assert_tallies_right()


@pytest.mark.django_db
def test_a_rerating_moves_the_claim_from_one_count_to_the_other(statuses):
    claim = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    record_verdict(claim=claim, status=get_status("stalled"), summary="Nothing since.")
    record_verdict(claim=claim, status=get_status("kept"), summary="Done.")
    assert status_counts() == {"open": 1, "kept": 1}
    assert StatusTally.objects.count() == 2  # each writer folded what it touched: a row per status
    assert_tallies_right()


@pytest.mark.django_db
def test_a_rating_correction_moves_the_count(statuses):
    claim = make_rated_claim(kind=Kind.FACT, status=get_status("true"))
    record_verdict(
        claim=claim, status=get_status("false"), summary="It was three.", correction_note="We misread it."
    )
    assert status_counts() == {"false": 1}
    assert_tallies_right()


@pytest.mark.django_db
def test_a_correction_of_the_speaker_moves_the_claim_between_speakers(statuses):
    first, second = make_speaker(), make_speaker()
    claim = make_rated_claim(kind=Kind.FACT, status=get_status("true"), speaker=first)
    make_rated_claim(kind=Kind.FACT, status=get_status("true"), speaker=first)

    corrected(claim, speaker=second)

    assert [
        (s.slug, s.claim_count) for s in Status.objects.with_claim_counts(speaker=second) if s.claim_count
    ] == [("true", 1)]
    assert status_counts() == {"true": 2}  # the status's count did not move
    assert_tallies_right()


@pytest.mark.django_db
def test_an_edit_that_moves_no_status_adds_no_row(statuses):
    claim = make_rated_claim(kind=Kind.FACT, status=get_status("true"))
    fold_tallies()
    rows = StatusTally.objects.count(), SpeakerTally.objects.count()
    Claim.objects.filter(pk=claim.pk).update(text="The same claim, reworded.")
    claim.speaker.name = "Renamed"
    claim.speaker.save()  # updates the speaker's claims (speaker_name), in SQL
    assert (StatusTally.objects.count(), SpeakerTally.objects.count()) == rows
    assert_tallies_right()


@pytest.mark.django_db
def test_any_writer_is_counted_raw_sql_inserts_and_deletes_included(statuses):
    """A raw INSERT of published claims and a DELETE (the services refuse to delete a published claim; the
    database's rules are switched off here as generate_claims does, for this transaction only)."""
    make_rated_claim(kind=Kind.FACT, status=get_status("true"))
    speaker = make_speaker()
    source = make_claim().source
    true, false = get_status("true"), get_status("false")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred event pending: the switch is allowed
        cursor.execute("ALTER TABLE claims_claim DISABLE TRIGGER claims_claim_status_on_insert")
        cursor.execute(
            """
            INSERT INTO claims_claim (created_at, updated_at, slug, text, quote, fidelity, kind, said_on,
                                      speaker_name, status_changed_at, source_id, speaker_id, status_id)
            SELECT now(), now(), 'raw-' || n, 'Raw claim ' || n, '', '', 'fact', '2025-05-19', '', now(),
                   %s, %s, CASE WHEN n <= 3 THEN %s ELSE %s END
            FROM generate_series(1, 5) n
            """,
            [source.pk, speaker.pk, true.pk, false.pk],
        )
        cursor.execute("ALTER TABLE claims_claim ENABLE TRIGGER claims_claim_status_on_insert")
        assert status_counts() == {"true": 4, "false": 2}
        assert_tallies_right()
        cursor.execute("DELETE FROM claims_claim WHERE slug IN ('raw-1', 'raw-4', 'raw-5')")
    assert status_counts() == {"true": 3}
    assert_tallies_right()


@pytest.mark.django_db
def test_the_benchmarks_bulk_insert_select_is_counted(statuses):
    make_rated_claim(kind=Kind.FACT, status=get_status("false"))
    call_command("generate_claims", 60, "--speakers", "7", "--i-know")
    counts = status_counts()
    assert sum(counts.values()) == 61
    assert_tallies_right()
    # One statement, one row per speaker and status it touched (and per status), however many claims.
    assert StatusTally.objects.count() == len(counts)


@pytest.mark.django_db
def test_the_api_speakers_read_their_count_from_the_tally(client, statuses):
    speaker = make_speaker(slug="ada")
    make_rated_claims(2, speaker=speaker, kind=Kind.FACT)
    assert client.get("/api/v1/speakers/ada/").json()["claim_count"] == 2
    make_rated_claim(speaker=speaker, kind=Kind.PROMISE)
    assert client.get("/api/v1/speakers/").json()["results"][0]["claim_count"] == 3
    assert_tallies_right()


@pytest.mark.django_db
def test_a_fold_keeps_every_sum_and_leaves_a_row_per_key(statuses):
    claims = make_rated_claims(4, kind=Kind.PROMISE, status=get_status("open"), speaker=make_speaker())
    with connection.cursor() as cursor:  # a writer that could not fold: deltas left behind
        cursor.execute(
            "INSERT INTO claims_status_tally (status_id, delta) VALUES (%s, 0)", [claims[0].status_id]
        )
    for claim in claims[:3]:
        record_verdict(claim=claim, status=get_status("stalled"), summary="Nothing since.")
    before = status_counts()

    assert tasks.fold_tallies(timestamp=int(time.time()))  # the worker's periodic task

    assert status_counts() == before == {"open": 1, "stalled": 3}
    assert StatusTally.objects.count() == 2 and SpeakerTally.objects.count() == 2
    assert_tallies_right()


@pytest.mark.django_db
def test_a_truncate_of_the_claims_empties_the_tallies(statuses):
    make_rated_claim(kind=Kind.FACT, status=get_status("true"))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE claims_claim CASCADE")
    assert status_counts() == {}
    assert not SpeakerTally.objects.exists()


# --- writers on two connections at once -------------------------------------------------------------------


def _in_thread(target, *args) -> tuple[threading.Thread, list[BaseException]]:
    """Run target(*args) on its own connection (Django's are per thread), in a transaction with a bounded
    lock wait; its exceptions are kept for the test to check."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    return threading.Thread(target=run), errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_publications_at_once_lose_no_count(statuses):
    """A publishes and keeps its transaction open (holding the fold lock its trigger took); B publishes on
    another claim meanwhile. Both are counted, and the tally is right once folded."""
    claim_a = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    claim_b = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    a_published, a_may_commit = threading.Event(), threading.Event()

    def publish(claim, before_commit) -> None:
        record_verdict(claim=claim, status=get_status("kept"), summary="Done.")
        before_commit()

    def a_holds_its_transaction_open() -> None:
        a_published.set()
        a_may_commit.wait(timeout=20)

    thread_a, errors_a = _in_thread(publish, claim_a, a_holds_its_transaction_open)
    thread_b, errors_b = _in_thread(publish, claim_b, lambda: None)
    thread_a.start()
    try:
        assert a_published.wait(timeout=10)
        thread_b.start()
        assert status_counts() == {"open": 2}  # neither is committed: a reader sees neither
        assert not fold_tallies()  # A holds the fold lock: the fold does not wait, it leaves the deltas
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        thread_b.join(timeout=30)
    assert errors_a == errors_b == []
    assert status_counts() == {"kept": 2}
    assert_tallies_right()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_publication_never_waits_for_a_fold(statuses):
    """A fold holds its lock (a slow worker); a publication meanwhile commits without waiting for it, its
    deltas left for the next fold, and the counts are right at its commit."""
    claim = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    fold_tallies()
    folding, fold_may_end = threading.Event(), threading.Event()

    def a_slow_fold() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TALLY_FOLD_LOCK])
        folding.set()
        fold_may_end.wait(timeout=20)

    def publish() -> None:
        record_verdict(claim=claim, status=get_status("kept"), summary="Done.")

    fold, fold_errors = _in_thread(a_slow_fold)
    publication, publication_errors = _in_thread(publish)
    fold.start()
    try:
        assert folding.wait(timeout=10)
        publication.start()
        publication.join(timeout=20)
        assert not publication.is_alive(), "the publication waited for the fold"
        assert publication_errors == []
        assert status_counts() == {"open": 1, "kept": 1}
        assert StatusTally.objects.count() > 2  # its deltas, not folded
    finally:
        fold_may_end.set()
        fold.join(timeout=30)
    assert fold_errors == []
    assert wait_until(fold_tallies)
    assert StatusTally.objects.count() == 2
    assert_tallies_right()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_repeatable_read_writer_is_counted_and_leaves_its_deltas_to_a_fold(statuses):
    """Its snapshot could miss a fold committed after it began, whose deleted rows its own fold would then
    fail on: it only adds."""
    claim = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        record_verdict(claim=claim, status=get_status("kept"), summary="Done.")
    assert status_counts() == {"kept": 1}
    assert StatusTally.objects.count() == 3  # +1 open, -1 open, +1 kept
    assert_tallies_right()

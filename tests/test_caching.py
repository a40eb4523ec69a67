"""Conditional requests and cache headers (factcheck/caching.py), from the site clock (claims.models.SiteClock).

The first tests run inside the test's transaction, which never commits: the clock's deferred triggers never
fire there, so the clock stands still and each test sets it where it needs it. The tests of what moves the
clock commit (transactional tests), and the last ones use a second database connection to show what a
commit that comes late does to a client's validators and to `updated_since`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from claims.events import CHANGE_FEED_LOCK
from claims.filters import UPDATED_SINCE_OVERLAP
from claims.models import Claim, SiteClock, Source, Speaker, Status
from claims.services import (
    EvidenceItem,
    archive_source_text,
    record_verdict,
    save_claim,
    save_edit,
)
from factcheck import caching
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_source,
    make_user,
)
from tests.test_write_path import someone_waits_for_a_lock, wait_until

PUBLIC = "public, max-age=60, stale-while-revalidate=300"


@pytest.fixture
def settled_clock(db):
    """The clock last moved an hour ago (in this test's transaction), so Last-Modified is sent."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_site_clock SET changed_at = clock_timestamp() - interval '1 hour'")


def _vary(response) -> set[str]:
    return {name.strip().lower() for name in response["Vary"].split(",")}


def _urls(claim: Claim) -> list[str]:
    return ["/claims/", claim.get_absolute_url(), "/api/v1/claims/", f"/api/v1/claims/{claim.id}/"]


@pytest.fixture
def published(statuses) -> Claim:
    return make_rated_claim(text="The bridge opens in spring.")


# --- 304s -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("which", range(4), ids=["page list", "page detail", "api list", "api detail"])
def test_a_matching_if_none_match_is_a_304_with_no_body(client, published, which):
    url = _urls(published)[which]
    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"].startswith('W/"')
    assert first["Cache-Control"] == PUBLIC

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    # What a cache needs to refresh its copy: the same validators, Cache-Control and Vary.
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == PUBLIC
    assert _vary(again) == _vary(first)


@pytest.mark.django_db
@pytest.mark.parametrize("which", range(4), ids=["page list", "page detail", "api list", "api detail"])
def test_if_modified_since_is_a_304_from_last_modified_on(client, published, settled_clock, which):
    url = _urls(published)[which]
    first = client.get(url)
    last_modified = first["Last-Modified"]

    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    a_second_before = format_datetime(
        parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
    )
    earlier = client.get(url, HTTP_IF_MODIFIED_SINCE=a_second_before)
    assert earlier.status_code == 200
    assert earlier.content


@pytest.mark.django_db
def test_if_none_match_wins_over_if_modified_since(client, published, settled_clock):
    first = client.get("/api/v1/claims/")
    response = client.get(
        "/api/v1/claims/", HTTP_IF_NONE_MATCH='W/"0-stale"', HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_head_request_gets_the_304_too(client, published):
    etag = client.get("/claims/")["ETag"]
    assert client.head("/claims/", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.django_db
def test_the_304_costs_one_query_and_never_reaches_the_view(
    client, published, django_assert_num_queries, monkeypatch
):
    etag = client.get(f"/api/v1/claims/{published.id}/")["ETag"]
    monkeypatch.setattr(
        "claims.api.views.ClaimViewSet.retrieve", lambda *a, **k: pytest.fail("the view was called")
    )
    with django_assert_num_queries(SITE_CLOCK):
        response = client.get(f"/api/v1/claims/{published.id}/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304


@pytest.mark.django_db
def test_last_modified_waits_until_the_clock_has_settled(client, published):
    """Two changes within one second would share an HTTP date: Last-Modified is only sent once the clock
    has stood still for LAST_MODIFIED_SETTLE, and then never claims the second a later change falls in."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_site_clock SET changed_at = clock_timestamp()")
    response = client.get("/claims/")
    assert "Last-Modified" not in response
    # Without Last-Modified, If-Modified-Since alone never gives a 304 (the ETag still does).
    assert client.get("/claims/", HTTP_IF_MODIFIED_SINCE="Thu, 01 Jan 2099 00:00:00 GMT").status_code == 200
    assert client.get("/claims/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_site_clock SET changed_at = clock_timestamp() - %s", [caching.LAST_MODIFIED_SETTLE]
        )
    assert "Last-Modified" in client.get("/claims/")


# --- what the validators depend on ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_etag_differs_by_path_query_and_the_apis_format(client, published):
    tags = {
        client.get("/api/v1/claims/")["ETag"],
        client.get("/api/v1/claims/?kind=fact")["ETag"],
        client.get("/api/v1/claims/", HTTP_ACCEPT="application/json; indent=2")["ETag"],
        client.get("/claims/")["ETag"],
    }
    assert len(tags) == 4
    assert client.get("/api/v1/claims/")["ETag"] == client.get("/api/v1/claims/")["ETag"]


@pytest.mark.django_db
def test_the_browsable_api_holds_the_readers_csrf_token_and_is_never_shared(client, published):
    """The browsable API's page carries this client's CSRF token (and the CSRF middleware, outside the
    caching one, sets its cookie): a CDN must never hand it to another reader."""
    response = client.get("/api/v1/claims/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert {part.strip() for part in response["Cache-Control"].split(",")} == {"private", "no-store"}
    assert "ETag" not in response


@pytest.mark.django_db
def test_a_new_release_changes_every_etag(client, published, monkeypatch):
    """A deploy that changes a template, a serializer or a setting the pages show must not be answered 304
    with the old body: the release's digest is part of every tag."""
    before = client.get("/claims/")["ETag"]
    assert client.get("/claims/", HTTP_IF_NONE_MATCH=before).status_code == 304
    monkeypatch.setattr(caching, "release_digest", lambda: "another-release")
    response = client.get("/claims/", HTTP_IF_NONE_MATCH=before)
    assert response.status_code == 200
    assert response["ETag"] != before


@pytest.mark.django_db
def test_a_feeds_own_last_modified_is_not_sent_while_the_clock_settles(client, published):
    """Django's syndication feed dates itself by its newest entry: that date is not sent either until the
    clock has settled, or If-Modified-Since alone could miss a second change within the same second."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_site_clock SET changed_at = clock_timestamp()")
    response = client.get("/feed/")
    assert response.status_code == 200
    assert "Last-Modified" not in response


@pytest.mark.django_db
def test_the_etag_changes_at_midnight_in_the_sites_time_zone(client, published, monkeypatch):
    """What is overdue changes with the date, without any write."""
    today = client.get("/claims/")["ETag"]
    tomorrow = caching.timezone.localdate() + timedelta(days=1)
    monkeypatch.setattr(caching.timezone, "localdate", lambda: tomorrow)
    response = client.get("/claims/", HTTP_IF_NONE_MATCH=today)
    assert response.status_code == 200
    assert response["ETag"] != today


@pytest.mark.django_db
def test_vary_names_what_the_response_depends_on(client, published):
    assert _vary(client.get("/api/v1/claims/")) >= {"accept", "cookie"}
    assert "cookie" in _vary(client.get("/claims/"))


@pytest.mark.django_db
def test_cache_control_follows_the_settings(client, published, settings):
    settings.CACHE_MAX_AGE = 10
    settings.CACHE_STALE_WHILE_REVALIDATE = 0
    assert client.get("/claims/")["Cache-Control"] == "public, max-age=10, stale-while-revalidate=0"


# --- never shared ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/claims/", "/api/v1/claims/"])
def test_a_logged_in_reader_gets_private_no_store_and_never_a_304(client, published, url):
    etag = Client().get(url)["ETag"]
    client.force_login(make_user(editor=True))

    response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert "ETag" not in response
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}


@pytest.mark.django_db
def test_a_request_with_credentials_is_never_shared(client, published):
    etag = client.get("/api/v1/claims/")["ETag"]
    response = client.get("/api/v1/claims/", HTTP_IF_NONE_MATCH=etag, HTTP_AUTHORIZATION="Bearer some-key")
    assert response.status_code != 304
    assert "no-store" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


@pytest.mark.django_db
def test_errors_and_refusals_are_not_kept(client, published, anon_rate):
    missing = client.get("/api/v1/claims/999999/")
    assert missing.status_code == 404
    assert "ETag" not in missing
    assert missing["Cache-Control"] == "no-store"

    anon_rate("1/minute")
    client.get("/api/v1/claims/")
    refused = client.get("/api/v1/claims/")
    assert refused.status_code == 429
    assert "ETag" not in refused
    assert refused["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_the_admin_the_preview_and_the_schema_are_not_covered(admin_client, published):
    for url in ("/admin/", "/api/schema/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "ETag" not in response
        assert "public" not in response.get("Cache-Control", "")
    draft = record_verdict(claim=published, status=published.status, summary="A draft.", publish=False)
    preview = admin_client.get(f"/preview/verdicts/{draft.pk}/")
    assert preview.status_code == 200
    assert "no-store" in preview["Cache-Control"] and "ETag" not in preview


# --- every public change moves the clock (these commit) -----------------------------------------------------


def _publish_a_verdict(claim: Claim, draft: Claim) -> None:
    record_verdict(claim=draft, status=get_status("false"), summary="Now rated.")


def _publish_with_evidence(claim: Claim, draft: Claim) -> None:
    record_verdict(
        claim=claim,
        status=claim.status,
        summary="Checked again.",
        evidence=[EvidenceItem(source=claim.source, note="The minutes say so.")],
    )


def _correct(claim: Claim, draft: Claim) -> None:
    claim.text = "The bridge opens in summer."
    save_claim(claim=claim, fields=["text"], correction_note="The date was wrong.")


def _raw_sql_edit(claim: Claim, draft: Claim) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE claims_claim SET text = 'Edited in psql.' WHERE id = %s", [claim.id])


def _rename_speaker(claim: Claim, draft: Claim) -> None:
    speaker = claim.speaker
    speaker.name = "A New Name"
    save_edit(obj=speaker, fields=["name"])


def _edit_source(claim: Claim, draft: Claim) -> None:
    Source.objects.filter(pk=claim.source_id).update(title="A corrected title")


def _describe_status(claim: Claim, draft: Claim) -> None:
    status = Status.objects.get(pk=claim.status_id)
    status.description = "Reworded."
    status.save()


def _capture_the_source(claim: Claim, draft: Claim) -> None:
    archive_source_text(source=claim.source, text="A fresh capture of the page.")


PUBLIC_CHANGES = {
    "verdict published": _publish_a_verdict,
    "verdict with evidence": _publish_with_evidence,
    "correction": _correct,
    "claim edited in raw SQL": _raw_sql_edit,
    "speaker renamed": _rename_speaker,
    "source edited": _edit_source,
    "status described": _describe_status,
    "source captured": _capture_the_source,
}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("change", PUBLIC_CHANGES.values(), ids=PUBLIC_CHANGES.keys())
def test_every_kind_of_public_change_changes_the_validators(statuses, change: Callable[[Claim, Claim], None]):
    claim = make_rated_claim(text="The bridge opens in spring.")
    draft = make_claim(text="Not rated yet.")
    reader = Client()
    urls = _urls(claim)
    before = {url: reader.get(url)["ETag"] for url in urls}
    version = SiteClock.objects.read().version

    change(claim, draft)

    assert SiteClock.objects.read().version == version + 1  # one bump per transaction
    for url in urls:
        response = reader.get(url, HTTP_IF_NONE_MATCH=before[url])
        assert response.status_code == 200, url
        assert response["ETag"] != before[url]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_drafts_do_not_move_the_clock(statuses):
    published = make_rated_claim()
    draft_claim = make_claim(text="Not checked yet.")
    version = SiteClock.objects.read().version
    etag = Client().get("/api/v1/claims/")["ETag"]

    draft_claim.text = "Still not checked."
    save_claim(claim=draft_claim, fields=["text"])
    record_verdict(
        claim=published,
        status=published.status,
        summary="A draft.",
        publish=False,
        evidence=[EvidenceItem(source=published.source, note="A draft's note.")],
    )

    assert SiteClock.objects.read().version == version
    assert Client().get("/api/v1/claims/", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_thousand_rows_in_one_transaction_are_one_bump(statuses):
    version = SiteClock.objects.read().version
    with transaction.atomic():
        Speaker.objects.bulk_create(Speaker(name=f"Speaker {i}", slug=f"speaker-{i}") for i in range(1000))
    clock = SiteClock.objects.get()
    assert clock.version == version + 1


# --- a commit that comes late (two connections) -------------------------------------------------------------


def _in_another_connection(work: Callable[[], None], written: threading.Event, may_commit: threading.Event):
    """Run `work` in a transaction on this thread's own connection; commit once `may_commit` is set."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                work()
                written.set()
                assert may_commit.wait(timeout=20), "the test never let the transaction commit"
        except BaseException as exc:
            errors.append(exc)
            written.set()
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_late_commit_never_leaves_a_client_with_a_new_etag_and_old_data(statuses):
    """B edits a claim and holds its transaction open; meanwhile A publishes and commits. A client then sees
    A's tag with the old text (B's edit is not committed: the tag is right for what it got). When B commits,
    it moves the clock at its commit, so the client's tag no longer matches and it gets the new text. While
    B's commit waits for the changes feed's lock (held here), the clock has not moved: no new tag yet."""
    claim = make_rated_claim(text="The bridge opens in spring.")
    url = f"/api/v1/claims/{claim.id}/"
    reader = Client()
    written, may_commit = threading.Event(), threading.Event()

    def b_edits() -> None:
        Claim.objects.filter(pk=claim.pk).update(text="The bridge opens in summer.")

    thread, errors = _in_another_connection(b_edits, written, may_commit)
    try:
        assert written.wait(timeout=10) and not errors
        _describe_status(claim, claim)  # A: another public change, committed while B is open
        during = reader.get(url)
        assert during.json()["text"] == "The bridge opens in spring."
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_FEED_LOCK])
            may_commit.set()
            assert wait_until(someone_waits_for_a_lock), "B's commit did not wait for the feed's lock"
            still = reader.get(url)  # B is committing: its bump waits for the lock, its edit is unseen
            assert still["ETag"] == during["ETag"]
            assert still.json()["text"] == "The bridge opens in spring."
    finally:
        may_commit.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and errors == []

    after = reader.get(url, HTTP_IF_NONE_MATCH=during["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != during["ETag"]
    assert after.json()["text"] == "The bridge opens in summer."


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_updated_since_with_the_documented_overlap_finds_a_late_commit(statuses):
    """A claim's updated_at is the time of the write, not of the commit: B writes at t1, a client asks at
    t2 > t1 (B not committed: not listed), then B commits. Asking again from t2 misses B's claim; asking
    from t2 minus UPDATED_SINCE_OVERLAP (longer than B's transaction) finds it."""
    claim = make_rated_claim(text="The bridge opens in spring.")
    reader = Client()
    written, may_commit = threading.Event(), threading.Event()

    def b_edits() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE claims_claim SET text = 'The bridge opens in summer.', updated_at = clock_timestamp() "
                "WHERE id = %s",
                [claim.pk],
            )

    thread, errors = _in_another_connection(b_edits, written, may_commit)
    try:
        assert written.wait(timeout=10) and not errors
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            (asked_at,) = cursor.fetchone()
        first = reader.get("/api/v1/claims/", {"updated_since": asked_at.isoformat()})
        assert first.json()["results"] == []
    finally:
        may_commit.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and errors == []

    claim.refresh_from_db()
    assert claim.updated_at < asked_at  # updated before the client asked, committed after
    missed = reader.get("/api/v1/claims/", {"updated_since": asked_at.isoformat()})
    assert missed.json()["results"] == []
    overlapped = reader.get(
        "/api/v1/claims/", {"updated_since": (asked_at - UPDATED_SINCE_OVERLAP).isoformat()}
    )
    assert [item["id"] for item in overlapped.json()["results"]] == [claim.id]
    assert overlapped.json()["results"][0]["text"] == "The bridge opens in summer."


# --- renames touch the claims ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_speaker_rename_touches_their_claims_but_not_their_version_nor_the_audit(published):
    before = Claim.objects.get(pk=published.pk)
    events = _audit_events(published)
    speaker = published.speaker
    speaker.name = "Someone Else"
    speaker.save()

    after = Claim.objects.get(pk=published.pk)
    assert after.speaker_name == "Someone Else"
    assert after.updated_at > before.updated_at
    assert after.version == before.version
    assert _audit_events(published) == events


def _audit_events(claim: Claim) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM claims_claimauditevent WHERE pgh_obj_id = %s", [claim.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_source_edit_touches_the_claims_that_show_it(published, statuses):
    cited_by = make_rated_claim(evidence=[EvidenceItem(source=published.source, note="Cited.")])
    unrelated = make_rated_claim()
    before = {c.pk: c.updated_at for c in Claim.objects.all()}

    Source.objects.filter(pk=published.source_id).update(publisher="The Gazette, corrected")

    after = {c.pk: c.updated_at for c in Claim.objects.all()}
    assert after[published.pk] > before[published.pk]
    assert after[cited_by.pk] > before[cited_by.pk]
    assert after[unrelated.pk] == before[unrelated.pk]


@pytest.mark.django_db
def test_a_source_edit_of_what_no_claim_shows_touches_nothing(published):
    source = make_source()
    before = Claim.objects.get(pk=published.pk).updated_at
    Source.objects.filter(pk=source.pk).update(title="Another title")
    Source.objects.filter(pk=published.source_id).update(authors="Someone")
    assert Claim.objects.get(pk=published.pk).updated_at == before


@pytest.mark.django_db
def test_a_response_that_sets_a_cookie_is_never_shared(client, published, monkeypatch):
    from claims.views import ClaimListView

    original = ClaimListView.get

    def get_with_a_cookie(self, request, *args, **kwargs):
        response = original(self, request, *args, **kwargs)
        response.set_cookie("seen", "1")
        return response

    monkeypatch.setattr(ClaimListView, "get", get_with_a_cookie)
    response = client.get("/claims/")
    assert response.status_code == 200
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}

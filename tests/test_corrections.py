"""Corrections, not silent rewrites (issue 7): a published claim's change of text, quote, speaker, source,
date said or kind needs a public correction note, and a fact's changed rating needs a reason. A correction
shows on the claim's page, on /corrections/, in its Atom feed, in the API and in the changes feed.

The last test runs a correction and a status change at once, on two database connections, to show that the
changes feed's ids commit in order across both kinds of entry.
"""

from __future__ import annotations

import os
import re
import threading
import xml.etree.ElementTree as ET  # our own feed, from the test client: trusted
from datetime import date, timedelta
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from claims.models import Claim, Correction, Kind, StatusChange, Verdict
from claims.services import publish_verdict, record_verdict, save_claim
from tests.factories import (
    SITE_CLOCK,
    get_status,
    make_claim,
    make_rated_claim,
    make_source,
    make_speaker,
    make_user,
)
from tests.test_admin import change_url, claim_form, new_verdict_prefix, post_claim_page
from tests.test_api_errors import parameter_errors
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_changes_feed import _waiting_for_the_feed_lock
from tests.test_write_path import wait_until

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def corrected(claim: Claim, note: str = "We had the number wrong.", **fields: object) -> Claim:
    """Edit a claim's fields (from a fresh copy, as the admin's form would) through save_claim."""
    copy = Claim.objects.get(pk=claim.pk)
    for name, value in fields.items():
        setattr(copy, name, value)
    return save_claim(claim=copy, correction_note=note)


def record(claim: Claim) -> tuple:
    """What a refused write must leave as it was."""
    claim.refresh_from_db()
    return (
        claim.text,
        claim.quote,
        claim.speaker_id,
        claim.updated_at,
        claim.status_id,
        Correction.objects.count(),
        Verdict.objects.filter(claim=claim).count(),
        StatusChange.objects.count(),
    )


@pytest.fixture
def editor(statuses):
    return make_user(editor=True, first_name="Ada", last_name="Editor")


@pytest.fixture
def editor_app(django_app, editor):
    django_app.set_user(editor)
    return django_app


# --- editing a published claim --------------------------------------------------------------------------


def test_changing_a_published_claims_text_without_a_note_is_refused_and_nothing_is_written(statuses):
    claim = make_rated_claim(text="Nine people were released.")
    before = record(claim)
    copy = Claim.objects.get(pk=claim.pk)
    copy.text = "Eighteen people were released."

    with pytest.raises(ValidationError) as refused:
        save_claim(claim=copy, correction_note="   ")

    assert list(refused.value.message_dict) == ["correction_note"]
    assert "changing its text is a public correction" in refused.value.message_dict["correction_note"][0]
    assert record(claim) == before


def test_a_published_claims_correction_records_what_changed_readably_and_bumps_updated_at(statuses):
    old_speaker, new_speaker = make_speaker(name="Yuri Ushakov"), make_speaker(name="Dmitry Peskov")
    old_source, new_source = (
        make_source(title="The first report"),
        make_source(
            title="The wire copy", archived_text="Mr Peskov said: “Talks will begin.” He gave no date."
        ),
    )
    claim = make_rated_claim(
        speaker=old_speaker, source=old_source, text="Talks begin.", quote="", said_on=date(2025, 5, 19)
    )
    updated_before = claim.updated_at

    corrected(
        claim,
        "The statement was Peskov's, in the wire copy, a day later.",
        speaker=new_speaker,
        source=new_source,
        said_on=date(2025, 5, 20),
        quote="Talks will begin.",
        due_on=None,
    )

    correction = Correction.objects.get()
    assert correction.claim_id == claim.pk
    assert correction.note == "The statement was Peskov's, in the wire copy, a day later."
    assert correction.changes == {
        "speaker": {
            "old": {"id": old_speaker.pk, "name": "Yuri Ushakov"},
            "new": {"id": new_speaker.pk, "name": "Dmitry Peskov"},
        },
        "source": {
            "old": {"id": old_source.pk, "title": "The first report"},
            "new": {"id": new_source.pk, "title": "The wire copy"},
        },
        "said_on": {"old": "2025-05-19", "new": "2025-05-20"},
        "quote": {"old": "", "new": "Talks will begin."},
    }
    assert (correction.verdict_id, correction.from_status_id, correction.to_status_id) == (None, None, None)
    claim.refresh_from_db()
    assert claim.speaker_id == new_speaker.pk and claim.updated_at > updated_before
    assert correction.published_at >= claim.status_changed_at


def test_an_unpublished_claim_and_a_published_claims_slug_and_due_date_change_freely(statuses):
    draft_only = make_claim(text="Not rated yet.")
    record_verdict(claim=draft_only, status=get_status("true"), summary="A draft.", publish=False)
    corrected(draft_only, note="", text="Still not rated.", speaker=make_speaker())

    promise = make_rated_claim(kind=Kind.PROMISE, due_on=date(2025, 6, 1))
    corrected(promise, note="", slug="a-new-address", due_on=date(2025, 7, 1))

    assert Correction.objects.count() == 0
    draft_only.refresh_from_db()
    promise.refresh_from_db()
    assert (draft_only.text, promise.slug, promise.due_on) == (
        "Still not rated.",
        "a-new-address",
        date(2025, 7, 1),
    )


def test_the_database_keeps_corrections_append_only_and_of_published_claims(statuses):
    claim = make_rated_claim()
    corrected(claim, text="Corrected text.")
    correction = Correction.objects.get()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Correction.objects.filter(pk=correction.pk).update(note="Rewritten quietly.")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Correction.objects.filter(pk=correction.pk).delete()
    with pytest.raises(IntegrityError, match="of a published claim"), transaction.atomic():
        Correction.objects.create(claim=make_claim(), note="Of nothing public.", published_at=timezone.now())
    with pytest.raises(IntegrityError, match="claims_correction_note_not_empty"), transaction.atomic():
        Correction.objects.create(claim=claim, note=" \n ", published_at=timezone.now())
    assert list(Correction.objects.values_list("note", flat=True)) == ["We had the number wrong."]


# --- a correction, everywhere the public looks ------------------------------------------------------------


def test_a_correction_is_visible_on_the_page_corrections_atom_and_api(client, statuses):
    claim = make_rated_claim(slug="nine-people", text="Nine people each will be released.")
    corrected(claim, "The exchange was of nine people each, not nine in all.", text="Nine people in all.")
    correction = Correction.objects.get()
    when = timezone.localtime(correction.published_at)
    day = f"{when.day} {when:%B %Y}"

    page = client.get("/claims/nine-people/").content.decode()
    assert f'Corrected on <time datetime="{when.isoformat()}">{day}</time>: ' in page
    assert "The exchange was of nine people each, not nine in all." in page
    assert "was <del>Nine people each will be released.</del>, now <ins>Nine people in all.</ins>" in page
    assert '<link rel="alternate" type="application/atom+xml"' in page

    listing = client.get("/corrections/").content.decode()
    assert '<a href="/claims/nine-people/">Nine people in all.</a>' in listing
    assert f'Corrected on <time datetime="{when.isoformat()}">{day}</time>: The exchange' in listing
    assert 'href="/corrections/feed/"' in listing and 'aria-current="page">Corrections</a>' in listing

    feed = client.get("/corrections/feed/")
    assert feed["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(  # noqa: S314
        feed.content
    )
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Correction: Nine people in all."
    assert (
        entry.find(f"{ATOM}link").get("href")
        == f"http://testserver/claims/nine-people/#correction-{correction.pk}"
    )
    assert entry.findtext(f"{ATOM}summary") == (
        "The exchange was of nine people each, not nine in all. (Changed: text.)"
    )

    api = client.get("/api/v1/corrections/").json()
    assert api["results"] == [
        {
            "id": correction.pk,
            "claim": {
                "id": claim.pk,
                "slug": "nine-people",
                "text": "Nine people in all.",
                "url": f"http://testserver/api/v1/claims/{claim.pk}/",
                "html_url": "http://testserver/claims/nine-people/",
            },
            "note": "The exchange was of nine people each, not nine in all.",
            "changes": {"text": {"old": "Nine people each will be released.", "new": "Nine people in all."}},
            "verdict": None,
            "at": correction.published_at.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert client.get(f"/api/v1/corrections/?claim={claim.pk}").json()["results"] == api["results"]
    assert client.get(f"/api/v1/corrections/?claim={claim.pk + 1000}").json()["results"] == []

    detail = client.get(f"/api/v1/claims/{claim.pk}/").json()
    assert detail["corrections"] == [
        {
            "id": correction.pk,
            "note": "The exchange was of nine people each, not nine in all.",
            "changes": {"text": {"old": "Nine people each will be released.", "new": "Nine people in all."}},
            "at": correction.published_at.isoformat().replace("+00:00", "Z"),
        }
    ]

    entries = client.get("/api/v1/changes/").json()["results"]
    assert [(e["type"], e["id"]) for e in entries] == [
        ("status_change", StatusChange.objects.get().pk),
        ("correction", correction.pk),
    ]
    assert entries[1] == {
        "id": correction.pk,
        "claim": api["results"][0]["claim"],
        "from_status": None,
        "to_status": None,
        "verdict": None,
        "at": api["results"][0]["at"],
        "type": "correction",
        "correction": {
            "note": "The exchange was of nine people each, not nine in all.",
            "changes": {"text": {"old": "Nine people each will be released.", "new": "Nine people in all."}},
        },
    }


def test_corrections_are_listed_newest_first_and_paged_by_cursor(client, statuses):
    claim = make_rated_claim()
    for n in range(25):
        corrected(claim, f"Correction number {n}.", text=f"Text version {n}.")
    newest_first = list(Correction.objects.order_by("-id").values_list("pk", flat=True))

    page1 = client.get("/api/v1/corrections/").json()
    page2 = client.get(page1["next"]).json()
    assert [c["id"] for c in page1["results"] + page2["results"]] == newest_first
    assert page2["next"] is None

    html = client.get("/corrections/").content.decode()
    assert html.count('<li class="correction">') == 20
    assert html.index("Correction number 24.") < html.index("Correction number 5.")
    older_url = unescape(re.search(r'<a href="([^"]+)" rel="next">Older', html).group(1))
    older = client.get(older_url).content.decode()
    assert older.count('<li class="correction">') == 5 and "Correction number 0." in older
    assert client.get("/corrections/?cursor=forged").status_code == 404
    assert client.get("/api/v1/corrections/?cursor=forged").status_code == 400
    for bad in ("abc", "-1", "1.5", "1e3", "9" * 30):
        assert parameter_errors(client.get(f"/api/v1/corrections/?claim={bad}")) == {
            "claim": ["Must be a claim's id: a whole number from 1 to 9223372036854775807."]
        }
    assert client.get("/api/v1/corrections/?nosuch=1").status_code == 400


@pytest.mark.parametrize("count", [1, 20])
def test_corrections_cost_one_query_a_page_at_any_size(client, statuses, django_assert_num_queries, count):
    for n in range(count):
        corrected(make_rated_claim(), f"Note {n}.", text=f"Corrected text {n}.")

    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get("/corrections/").content.decode().count('<li class="correction">') == count
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert len(client.get("/api/v1/corrections/").json()["results"]) == count
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert client.get("/corrections/feed/").content.count(b"<entry>") == count
    with django_assert_num_queries(SITE_CLOCK + 1):
        assert len(client.get("/api/v1/changes/").json()["results"]) == 2 * count


def test_corrections_of_claims_the_public_cannot_see_are_not_listed(client, statuses):
    assert client.get("/corrections/").content.decode().count('<li class="correction">') == 0
    assert client.get("/api/v1/corrections/").json()["results"] == []
    assert b"<entry>" not in client.get("/corrections/feed/").content


def test_a_correction_note_is_escaped_everywhere(client, statuses):
    claim = make_rated_claim(slug="escaped")
    corrected(claim, "<script>alert(1)</script> & more", text="<b>Bold</b> text.")

    for url in ("/claims/escaped/", "/corrections/"):
        html = client.get(url).content.decode()
        assert (
            "<script>alert(1)</script>" not in html
            and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
        )
        assert "<b>Bold</b>" not in html
    root = ET.fromstring(  # noqa: S314
        client.get("/corrections/feed/").content
    )
    assert root.find(f"{ATOM}entry").findtext(f"{ATOM}summary").startswith("<script>alert(1)</script> & more")


# --- a fact's rating is final ----------------------------------------------------------------------------


def test_changing_a_facts_rating_without_a_reason_is_refused_and_nothing_is_written(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    before = record(claim)

    with pytest.raises(ValidationError) as refused:
        record_verdict(claim=claim, status=get_status("true"), summary="It was true after all.")

    assert "already rated “False”" in refused.value.message_dict["correction_note"][0]
    assert record(claim) == before


def test_a_changed_rating_with_a_reason_is_a_correction_in_the_feed_after_its_status_change(client, statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    verdict = record_verdict(
        claim=claim,
        status=get_status("true"),
        summary="It was true after all.",
        correction_note="The ministry's figures were revised.",
    )

    correction = Correction.objects.get()
    assert (correction.verdict_id, correction.note) == (verdict.pk, "The ministry's figures were revised.")
    assert correction.changes == {"status": {"old": "False", "new": "True"}}
    assert (correction.from_status.slug, correction.to_status.slug) == ("false", "true")
    status_change = StatusChange.objects.get(verdict=verdict)
    assert status_change.pk < correction.pk

    entries = client.get(f"/api/v1/changes/?after={status_change.pk - 1}").json()["results"]
    assert [(e["type"], e["verdict"], e["from_status"]["slug"], e["to_status"]["slug"]) for e in entries] == [
        ("status_change", verdict.pk, "false", "true"),
        ("correction", verdict.pk, "false", "true"),
    ]
    assert entries[1]["correction"] == {
        "note": "The ministry's figures were revised.",
        "changes": {"status": {"old": "False", "new": "True"}},
    }
    page = client.get(claim.get_absolute_url()).content.decode()
    assert "The ministry&#x27;s figures were revised." in page
    assert "<dt>Rating</dt>" in page and "was <del>False</del>, now <ins>True</ins>" in page


def test_a_first_rating_after_unverified_and_the_same_rating_again_need_no_reason(statuses):
    claim = make_rated_claim(status=get_status("unverified"), kind=Kind.FACT)
    record_verdict(claim=claim, status=get_status("false"), summary="Checked: false.")
    record_verdict(claim=claim, status=get_status("false"), summary="Still false, more evidence.")

    assert Correction.objects.count() == 0


def test_a_tracking_status_moves_freely(statuses):
    promise = make_rated_claim(status=get_status("open"), kind=Kind.PROMISE)
    for slug in ("in-progress", "stalled", "broken"):
        record_verdict(claim=promise, status=get_status(slug), summary=f"Now {slug}.")

    promise.refresh_from_db()
    assert promise.status.slug == "broken" and Correction.objects.count() == 0


def test_a_draft_carries_its_reason_to_its_publication_by_someone_else(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    without = record_verdict(claim=claim, status=get_status("true"), summary="No reason.", publish=False)
    with_reason = record_verdict(
        claim=claim,
        status=get_status("mostly-true"),
        summary="With a reason.",
        publish=False,
        correction_note="A second source confirmed it.",
    )
    reviewer = make_user(reviewer=True)

    with pytest.raises(ValidationError, match="already rated"):
        publish_verdict(verdict=without, by=reviewer)
    publish_verdict(verdict=with_reason, by=reviewer)

    correction = Correction.objects.get()
    assert (correction.verdict_id, correction.published_by, correction.note) == (
        with_reason.pk,
        reviewer,
        "A second source confirmed it.",
    )
    without.refresh_from_db()
    assert not without.is_published


# --- the admin ---------------------------------------------------------------------------------------------


def test_the_admin_refuses_a_published_claims_edit_without_a_note_naming_the_fields(editor_app, statuses):
    claim = make_rated_claim(text="The old text.", quote="Old words.")
    before = record(claim)

    response = post_claim_page(editor_app, change_url(claim), text="The new text.", quote="New words.")

    assert response.status_code == 200
    assert "changing its text and quote is a public correction" in response.text
    assert "Correction note" in response.text and "Required when changing the text" in response.text
    assert record(claim) == before


def test_the_admin_saves_a_published_claims_correction_with_its_note_and_author(editor_app, editor, statuses):
    claim = make_rated_claim(text="The old text.")

    response = post_claim_page(
        editor_app, change_url(claim), text="The new text.", correction_note="A transcription error."
    )

    assert response.status_code == 302
    unused = post_claim_page(
        editor_app, change_url(claim), slug="renamed", correction_note="A note for nothing."
    )
    assert unused.status_code == 200 and "Nothing a correction covers has changed" in unused.text
    correction = Correction.objects.get()
    assert (correction.note, correction.published_by, correction.changes) == (
        "A transcription error.",
        editor,
        {"text": {"old": "The old text.", "new": "The new text."}},
    )


def test_the_admin_shows_no_correction_note_for_an_unpublished_claim_and_no_reason_for_a_promise(
    editor_app, statuses
):
    unpublished = make_claim()
    form = claim_form(editor_app, change_url(unpublished))
    assert "correction_note" not in form.fields

    promise = make_rated_claim(kind=Kind.PROMISE)
    form = claim_form(editor_app, change_url(promise))
    assert new_verdict_prefix(form) + "correction_note" not in form.fields
    assert "correction_note" in form.fields  # the claim's own note: a published claim


@pytest.fixture
def publisher(statuses, settings):
    """A newsroom of one: review is off, and this reviewer publishes their own verdicts from a claim's page."""
    settings.REVIEW_REQUIRED = False
    return make_user(reviewer=True)


def test_the_admin_refuses_a_changed_rating_without_a_reason_on_the_new_verdict_row(
    editor_app, publisher, statuses
):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    before = record(claim)

    # An editor's draft is asked for its reason too, when it is recorded.
    drafted = post_claim_page(
        editor_app, change_url(claim), verdict={"status": get_status("true").pk, "summary": "True after all."}
    )
    assert drafted.status_code == 200
    assert "Give the reason for changing the rating" in drafted.text
    assert record(claim) == before

    editor_app.set_user(publisher)  # a newsroom of one publishes at once
    refused = post_claim_page(
        editor_app,
        change_url(claim),
        verdict={"status": get_status("true").pk, "summary": "True after all."},
    )
    assert refused.status_code == 200
    assert "Give the reason for changing the rating" in refused.text
    assert record(claim) == before

    saved = post_claim_page(
        editor_app,
        change_url(claim),
        verdict={
            "status": get_status("true").pk,
            "summary": "True after all.",
            "correction_note": "The count was revised.",
        },
    )
    assert saved.status_code == 302
    assert Correction.objects.get().changes == {"status": {"old": "False", "new": "True"}}


def test_corrections_are_read_only_in_the_admin(editor_app, statuses):
    corrected(make_rated_claim(), text="Corrected.")
    correction = Correction.objects.get()

    listing = editor_app.get(reverse("admin:claims_correction_changelist"))
    assert "We had the number wrong." in listing.text
    page = editor_app.get(reverse("admin:claims_correction_change", args=[correction.pk]))
    assert "<textarea" not in page.text and "Save" not in page.forms[0].fields
    assert editor_app.get(reverse("admin:claims_correction_add"), expect_errors=True).status_code == 403


# --- the feed's order, on two connections ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_correction_and_a_status_change_at_once_commit_in_id_order(statuses):
    """Transaction A appends a correction and stays open; B publishes a status change meanwhile.

    B must wait for A (the feed's advisory lock, taken by both tables' insert triggers): had B committed
    first, a consumer polling ?after= would have kept B's id and never seen A's lower one.
    """
    claim_a = make_rated_claim(kind=Kind.FACT, status=get_status("true"))
    claim_b = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    last_seen = client_feed(0)["last_id"]
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
        target=run,
        args=(
            "A",
            lambda: corrected(claim_a, "A corrects.", text="Corrected by A."),
            a_holds_its_transaction_open,
        ),
    )
    thread_b = threading.Thread(
        target=run,
        args=(
            "B",
            lambda: record_verdict(claim=claim_b, status=get_status("kept"), summary="B publishes."),
            lambda: None,
        ),
    )
    thread_a.start()
    try:
        assert a_inserted.wait(timeout=10), "A did not get to insert its correction"
        thread_b.start()
        assert wait_until(lambda: _waiting_for_the_feed_lock() or not thread_b.is_alive())
        assert thread_b.is_alive(), "B did not wait for A's transaction: no lock serialises them"
        assert client_feed(last_seen)["results"] == []
    finally:
        a_may_commit.set()
        thread_a.join(timeout=30)
        if thread_b.ident is not None:
            thread_b.join(timeout=30)

    assert errors == [] and committed == ["A", "B"]
    after = client_feed(last_seen)
    assert [(e["type"], e["claim"]["id"]) for e in after["results"]] == [
        ("correction", claim_a.pk),
        ("status_change", claim_b.pk),
    ]
    a_id, b_id = (e["id"] for e in after["results"])
    assert last_seen < a_id < b_id
    assert client_feed(after["last_id"])["results"] == []


def client_feed(after: int) -> dict:
    return Client().get(f"/api/v1/changes/?after={after}").json()


def test_a_correction_waits_for_the_feeds_lock(statuses):
    """The insert trigger takes the feed's lock itself: a writer that skips the service is serialised too."""
    claim = make_rated_claim()
    with transaction.atomic():
        Correction.objects.create(claim=claim, note="Directly.", published_at=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = 7146532901"
            )
            assert cursor.fetchone()[0] == 1


# --- in a real browser -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="needs Debian's chromium at /usr/bin/chromium (set REQUIRE_BROWSER=1 to fail instead)",
)
def test_a_reader_finds_a_correction_from_the_nav_and_follows_an_old_link(live_server):
    call_command("loaddata", "statuses", verbosity=0)
    claim = make_rated_claim(slug="nine-each", text="Nine people each.", status=get_status("false"))
    corrected(
        claim, "The count was of people in all, not each.", text="Nine people in all.", slug="nine-in-all"
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(live_server.url + "/")
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Corrections").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Corrections")
            expect(page.locator("li.correction")).to_contain_text("The count was of people in all, not each.")
            feed = page.locator('link[rel="alternate"][type="application/atom+xml"]')
            expect(feed).to_have_attribute("href", "/corrections/feed/")

            page.get_by_role("link", name="Nine people in all.").click()
            expect(page).to_have_url(live_server.url + "/claims/nine-in-all/")
            corrections = page.get_by_role("region", name="Corrections")
            expect(corrections).to_contain_text("Corrected on ")
            expect(corrections.locator("del")).to_have_text("Nine people each.")
            expect(corrections.locator("ins")).to_have_text("Nine people in all.")

            # The old address, as a reader's bookmark has it, lands on the claim's page.
            page.goto(live_server.url + "/claims/nine-each/")
            expect(page).to_have_url(live_server.url + "/claims/nine-in-all/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Nine people in all.")
        finally:
            browser.close()


@pytest.mark.parametrize("count", [1, 20])
def test_the_corrections_admin_list_costs_the_same_queries_for_1_and_20(
    editor, client, count, django_assert_num_queries
):
    for n in range(count):
        corrected(make_rated_claim(), f"Note {n}.", text=f"Corrected text {n}.")
    client.force_login(editor)

    # session, user, the editor's permissions (user + group), count, the page with claim and author joined.
    with django_assert_num_queries(6):
        response = client.get(reverse("admin:claims_correction_changelist"))
    assert response.content.decode().count('<td class="field-note">') == count


def test_a_status_change_is_never_published_before_the_feeds_latest_correction(statuses):
    """The feed runs forward in time across both kinds of entry: in the service and in the database."""
    claim = make_rated_claim(kind=Kind.PROMISE, status=get_status("open"))
    corrected(claim, text="Corrected.")
    just_before = Correction.objects.get().published_at - timedelta(microseconds=1)
    assert claim.status_changed_at < just_before

    with pytest.raises(ValidationError, match="changes feed's latest entry"):
        record_verdict(claim=claim, status=get_status("kept"), summary="Backdated.", published_at=just_before)
    with pytest.raises(IntegrityError, match="runs forward in time"), transaction.atomic():
        StatusChange.objects.create(
            claim=claim,
            from_status=get_status("open"),
            to_status=get_status("open"),
            verdict=claim.verdicts.get(),
            published_at=just_before,
        )
    assert StatusChange.objects.count() == 1

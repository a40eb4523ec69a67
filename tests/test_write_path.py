"""Nothing but claims.services writes a claim's status, even when editors collide.

Each test runs two transactions at once, on two database connections (threads), as
tests/test_changes_feed.py does: one holds a publication open while an editor saves through the admin,
then both finish and the invariants are checked: a claim's status is its latest published verdict's, each
StatusChange's from_status is the previous one's to_status, the feed's times never go backwards, no 500.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Evidence, Kind, Status, StatusChange, Verdict
from claims.services import EvidenceItem, publish_verdict, record_verdict
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_user
from tests.test_admin import claim_form, new_verdict_prefix, submit_claim_form
from tests.test_editors_group import EDITING, REVIEWING

WAIT = 20  # seconds: the bound on every wait, so no thread can hang the run


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def someone_waits_for_a_lock() -> bool:
    """True when another connection is blocked on a lock (a row lock, an advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


class Held:
    """A transaction run on its own connection in a thread, held open after `work` until released."""

    def __init__(self, work: Callable[[], object]):
        self.work, self.result, self.error = work, None, None
        self.done_work, self.may_commit = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '20s'")
                self.result = self.work()
                self.done_work.set()
                assert self.may_commit.wait(timeout=WAIT)
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.done_work.set()
        finally:
            connections["default"].close()

    def __enter__(self) -> Held:
        self.thread.start()
        assert self.done_work.wait(timeout=WAIT), "the held transaction did not get its work done"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.may_commit.set()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive()
        assert self.error is None, self.error


class InThread:
    """A request (or any call) on its own connection in a thread; `wait()` returns its result."""

    def __init__(self, call: Callable[[], object]):
        self.call, self.result, self.error = call, None, None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:
            self.error = exc
        finally:
            connections["default"].close()

    def wait(self) -> object:
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive(), "the call did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def change_url(claim: Claim) -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk])


def assert_invariants() -> None:
    """Every claim's status is its latest published verdict's; every claim's changes chain; the feed's
    times never go backwards as its ids go up."""
    for claim in Claim.objects.all():
        latest = Verdict.objects.filter(claim=claim).published().newest_first().first()
        assert (claim.status_id, claim.status_changed_at) == (
            (latest.status_id, latest.published_at) if latest else (None, None)
        ), claim.slug
        previous = None
        for change in StatusChange.objects.filter(claim=claim).order_by("id"):
            assert change.from_status_id == previous, claim.slug
            previous = change.to_status_id
        assert previous == claim.status_id, claim.slug
    times = list(StatusChange.objects.order_by("id").values_list("published_at", flat=True))
    assert times == sorted(times)


def publishing(claim: Claim, slug: str, summary: str = "Published meanwhile.") -> Callable[[], Verdict]:
    # With a reason, for a fact whose rating this changes (a correction, claims.services._rating_correction).
    return lambda: record_verdict(
        claim=claim, status=get_status(slug), summary=summary, correction_note="Re-checked meanwhile."
    )


@pytest.fixture
def editor_app(django_app, editor):
    django_app.set_user(editor)
    return django_app


@pytest.fixture
def editor(statuses):
    # A transactional test starts from a flushed database, without the Editors group migration 0003 made.
    group, _ = Group.objects.get_or_create(name="Editors")
    group.permissions.set(Permission.objects.filter(content_type__app_label="claims", codename__in=EDITING))
    return make_user(editor=True)


@pytest.fixture
def reviewer(statuses):
    group, _ = Group.objects.get_or_create(name="Reviewers")
    group.permissions.set(Permission.objects.filter(content_type__app_label="claims", codename__in=REVIEWING))
    return make_user(reviewer=True)


# --- the admin's save of a claim, while another editor publishes ------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_saving_a_claims_text_while_a_verdict_is_published_keeps_the_new_status(editor_app):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT, text="The old text.")
    form = claim_form(editor_app, change_url(claim))  # read before the publication

    with Held(publishing(claim, "true")):
        saving = InThread(
            lambda: submit_claim_form(form, text="The new text.", correction_note="The text was mistyped.")
        )
        assert wait_until(someone_waits_for_a_lock), "the admin's save did not wait for the publication"
    response = saving.wait()

    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.text, claim.status.slug) == ("The new text.", "true")
    assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_draft_recorded_from_a_page_opened_before_a_publication_is_shown_again_then_saved(editor_app):
    """The page showed the old status: the draft is refused (with the text edit, one save), kept on the
    page with the newer status named; saved again from that page, both are written."""
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT, text="The old text.")
    form = claim_form(editor_app, change_url(claim))

    with Held(publishing(claim, "true")):
        draft = {
            "status": get_status("misleading").pk,
            "summary": "A draft.",
            "correction_note": "Misleading, on a closer reading.",
        }
        saving = InThread(
            lambda: submit_claim_form(form, text="The new text.", correction_note="Mistyped.", verdict=draft)
        )
        assert wait_until(someone_waits_for_a_lock), "the admin's save did not wait for the publication"
    response = saving.wait()

    assert response.status_code == 200  # the page again, with the reason; nothing written
    assert "the claim's status is now “True”" in html.unescape(response.text)
    claim.refresh_from_db()
    assert (claim.text, claim.status.slug) == ("The old text.", "true")
    assert not claim.verdicts.drafts().exists()
    again = response.forms["claim_form"]
    assert again["text"].value == "The new text."
    assert again[new_verdict_prefix(again) + "summary"].value == "A draft."

    assert again.submit("_save").status_code == 302
    claim.refresh_from_db()
    assert (claim.text, claim.status.slug) == ("The new text.", "true")
    assert claim.verdicts.drafts().get().summary == "A draft."
    assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_publications_at_once_chain_their_changes(django_app, editor, reviewer):
    # An editor's draft, which a reviewer publishes with the draft page's button while another publication
    # on the same claim is in flight.
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    draft = record_verdict(
        claim=claim,
        status=get_status("mostly-true"),
        summary="Mine, published second.",
        publish=False,
        by=editor,
        correction_note="New evidence.",
    )
    django_app.set_user(reviewer)
    form = django_app.get(reverse("admin:claims_verdict_change", args=[draft.pk])).forms["publish-form"]

    with Held(publishing(claim, "true")):
        saving = InThread(lambda: form.submit())
        assert wait_until(someone_waits_for_a_lock), "the admin's publication did not wait for the other"
    response = saving.wait()

    assert response.status_code == 302
    chain = list(
        StatusChange.objects.filter(claim=claim)
        .order_by("id")
        .values_list("from_status__slug", "to_status__slug")
    )
    assert chain == [(None, "false"), ("false", "true"), ("true", "mostly-true")]
    claim.refresh_from_db()
    assert claim.status.slug == "mostly-true"
    assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reviewers_pressing_publish_at_once_publish_the_draft_once(django_app, editor, reviewer):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    draft = record_verdict(
        claim=claim,
        status=get_status("true"),
        summary="Reviewed twice.",
        publish=False,
        by=editor,
        correction_note="The record was found.",
    )
    other_reviewer = make_user(reviewer=True)
    django_app.set_user(reviewer)
    form = django_app.get(reverse("admin:claims_verdict_change", args=[draft.pk])).forms["publish-form"]

    with Held(lambda: publish_verdict(verdict=draft, by=other_reviewer)):
        pressing = InThread(lambda: form.submit())
        assert wait_until(someone_waits_for_a_lock), "the second publication did not wait for the first"
    response = pressing.wait()

    assert response.status_code == 302  # back to the draft's page with the reason; not a 500
    assert "Not published: This verdict is already published." in response.follow().text
    change = StatusChange.objects.get(verdict=draft)
    assert change.published_by == other_reviewer
    assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_kind_change_during_a_first_publication_is_refused_with_a_message(editor_app):
    claim = make_claim(kind=Kind.FACT, text="Not rated yet.")
    form = claim_form(editor_app, change_url(claim))

    with Held(publishing(claim, "true", "The first verdict.")):
        saving = InThread(lambda: submit_claim_form(form, kind=Kind.PROMISE))
        assert wait_until(someone_waits_for_a_lock), "the admin's save did not wait for the publication"
    response = saving.wait()

    # The form's own check, made once it holds the claim's lock (claims.forms.VersionedForm): the page again,
    # with the reason and the editor's choice kept; not a 500.
    assert response.status_code == 200
    assert "cannot become a claim of the other scale" in response.text
    assert response.forms["claim_form"]["kind"].value == Kind.PROMISE
    claim.refresh_from_db()
    assert (claim.kind, claim.status.slug) == (Kind.FACT, "true")
    assert_invariants()


# --- a draft's evidence, while the draft is published -------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    "write",
    [
        lambda draft, source: Evidence.objects.filter(verdict=draft).update(note="Rewritten."),
        lambda draft, source: Evidence.objects.create(verdict=draft, source=source, note="Added."),
        lambda draft, source: Evidence.objects.filter(verdict=draft).delete(),
    ],
    ids=["edited", "added", "removed"],
)
def test_evidence_written_while_its_draft_is_published_waits_and_is_refused(statuses, write):
    cited, other = make_source(), make_source()
    draft = record_verdict(
        claim=make_claim(),
        status=get_status("true"),
        summary="A draft.",
        evidence=[EvidenceItem(source=cited, note="As cited.")],
        publish=False,
    )

    with Held(lambda: publish_verdict(verdict=draft)):
        writing = InThread(lambda: write(draft, other))
        assert wait_until(someone_waits_for_a_lock), "the evidence write did not wait for the publication"
    with pytest.raises(IntegrityError, match="evidence of a published verdict"):
        writing.wait()

    assert list(Evidence.objects.filter(verdict=draft).values_list("source", "note")) == [
        (cited.pk, "As cited.")
    ]
    assert_invariants()


# --- nothing else writes the status -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_copy_of_a_claim_saves_its_fields_but_not_its_old_status(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    stale = Claim.objects.get(pk=claim.pk)
    record_verdict(claim=claim, status=get_status("true"), summary="Corrected.", correction_note="Misread.")

    stale.text = "Edited from a stale copy."
    stale.save()

    claim.refresh_from_db()
    assert (claim.text, claim.status.slug) == ("Edited from a stale copy.", "true")
    assert_invariants()


@pytest.mark.django_db
def test_the_database_refuses_any_other_writer_of_a_claims_status(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    verdict = claim.verdicts.get()
    with pytest.raises(IntegrityError, match="latest published verdict"), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status=get_status("true"))
    with pytest.raises(IntegrityError, match="latest published verdict"), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status_changed_at=verdict.published_at + timedelta(days=1))
    with pytest.raises(IntegrityError, match="latest published verdict"), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(status=None, status_changed_at=None)
    with pytest.raises(IntegrityError, match="latest published verdict"), transaction.atomic():
        make_claim(status=get_status("true"), status_changed_at=verdict.published_at)
    with pytest.raises(ValueError, match=r"claims\.services"):
        claim.save(update_fields=["status"])
    claim.refresh_from_db()
    assert (claim.status.slug, claim.status_changed_at) == ("false", verdict.published_at)


# --- the changes feed's order ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_status_change_times_never_go_backwards_as_ids_go_up(statuses):
    """A publication that takes its time and a quick one on another claim, started after it.

    The slow one waits on its status row (locked here, as a status being edited would be); meanwhile the
    quick one publishes. The slow one's change then gets the later id, so it must get the later time too.
    """
    slow_claim, quick_claim = make_claim(kind=Kind.FACT), make_claim(kind=Kind.FACT)

    with Held(lambda: list(Status.objects.select_for_update().filter(slug="true"))):
        slow = InThread(publishing(slow_claim, "true", "Slow."))
        assert wait_until(someone_waits_for_a_lock), "the slow publication did not wait for its status"
        InThread(publishing(quick_claim, "false", "Quick.")).wait()
    slow.wait()

    changes = list(StatusChange.objects.order_by("id").values_list("claim", "published_at"))
    assert [claim for claim, _ in changes] == [quick_claim.pk, slow_claim.pk]
    assert changes[0][1] <= changes[1][1]
    assert_invariants()


@pytest.mark.django_db
def test_a_publication_backdated_before_the_feeds_latest_entry_is_refused(statuses):
    first = record_verdict(claim=make_claim(), status=get_status("true"), summary="First.")
    other = make_claim()

    with pytest.raises(ValidationError) as refused:
        record_verdict(
            claim=other,
            status=get_status("false"),
            summary="Backdated.",
            published_at=first.published_at - timedelta(hours=1),
        )

    assert "feed runs forward in time" in " ".join(refused.value.message_dict["published_at"])
    assert not other.verdicts.exists()
    # Backdating into an empty feed, or to the latest entry's time, stays possible.
    same_time = record_verdict(
        claim=other, status=get_status("false"), summary="At once.", published_at=first.published_at
    )
    assert same_time.published_at == first.published_at
    assert_invariants()


@pytest.mark.django_db
def test_the_database_refuses_a_status_change_earlier_than_the_latest(statuses):
    first = record_verdict(claim=make_claim(), status=get_status("true"), summary="First.")
    draft = record_verdict(claim=make_claim(), status=get_status("false"), summary="Draft.", publish=False)
    with pytest.raises(IntegrityError, match="runs forward in time"), transaction.atomic():
        StatusChange.objects.create(
            claim=draft.claim,
            to_status=draft.status,
            verdict=draft,
            published_at=first.published_at - timedelta(seconds=1),
        )
    assert StatusChange.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_status_change_that_does_not_follow_its_verdict_and_the_chain(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    draft = record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)
    other = make_rated_claim(status=get_status("true"), kind=Kind.FACT)
    later = timezone.now() + timedelta(seconds=30)

    def insert(**fields) -> None:
        with transaction.atomic():
            StatusChange.objects.create(**{"claim": claim, "published_at": later, **fields})

    with pytest.raises(IntegrityError, match="records its verdict's publication"):
        insert(from_status=get_status("false"), to_status=draft.status, verdict=draft)  # a draft
    published = Verdict.objects.filter(pk=draft.pk)
    with pytest.raises(IntegrityError, match="records its verdict's publication"):
        insert(from_status=get_status("false"), to_status=get_status("true"), verdict=other.verdicts.get())
    with transaction.atomic():
        # A published verdict whose change is being written: the wrong from_status breaks the chain.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS claims_verdict_published_is_recorded DEFERRED")
        published.update(published_at=later)
        with pytest.raises(IntegrityError, match="previous change ended at"), transaction.atomic():
            insert(from_status=get_status("mostly-true"), to_status=draft.status, verdict=draft)
        with pytest.raises(IntegrityError, match="records its verdict's publication"), transaction.atomic():
            insert(from_status=get_status("false"), to_status=get_status("misleading"), verdict=draft)
        transaction.set_rollback(True)
    assert StatusChange.objects.filter(claim=claim).count() == 1
    assert_invariants()


@pytest.mark.django_db
def test_the_database_refuses_a_verdict_published_outside_the_service(statuses):
    claim = make_rated_claim(status=get_status("false"), kind=Kind.FACT)
    draft = record_verdict(claim=claim, status=get_status("true"), summary="A draft.", publish=False)
    later = claim.status_changed_at + timedelta(seconds=1)
    # Checked at commit; here, at once, as the test's own transaction never commits.
    with pytest.raises(IntegrityError, match=r"published by claims\.services"), transaction.atomic():
        Verdict.objects.filter(pk=draft.pk).update(published_at=later)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS claims_verdict_published_is_recorded IMMEDIATE")
    with pytest.raises(IntegrityError, match=r"published by claims\.services"), transaction.atomic():
        Verdict.objects.create(
            claim=claim, status=draft.status, scale="accuracy", summary="x", published_at=later
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS claims_verdict_published_is_recorded IMMEDIATE")
    # Through the service, the same check passes.
    with transaction.atomic():
        record_verdict(
            claim=claim, status=get_status("true"), summary="Published.", correction_note="Misread."
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS claims_verdict_published_is_recorded IMMEDIATE")
    assert_invariants()

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from claims.models import Claim, Evidence, Kind, StatusChange, Verdict
from claims.services import EvidenceItem, publish_verdict, record_verdict, save_claim
from tests.factories import get_status, make_claim, make_source, make_speaker, make_user

pytestmark = pytest.mark.django_db


def test_recording_a_verdict_moves_the_claim_to_its_status(statuses, settings):
    settings.REVIEW_REQUIRED = False  # a newsroom of one: the author publishes (tests/test_review.py)
    claim = make_claim(kind=Kind.FACT)
    source = make_source()
    editor = make_user(reviewer=True)
    verdict = record_verdict(
        claim=claim,
        status=get_status("false"),
        summary="The record shows otherwise.",
        evidence=[EvidenceItem(source=source, note="Page 3.")],
        by=editor,
    )
    claim.refresh_from_db()
    assert claim.status.slug == "false"
    assert claim.status_changed_at == verdict.published_at
    change = StatusChange.objects.get(verdict=verdict)
    assert (change.from_status, change.to_status.slug, change.published_by) == (None, "false", editor)
    assert change.published_at == verdict.published_at
    assert verdict.created_by == editor
    assert [(e.source, e.note) for e in verdict.evidence.all()] == [(source, "Page 3.")]


def test_a_second_verdict_keeps_the_first_on_the_timeline_and_records_the_change(statuses):
    claim = make_claim(kind=Kind.PROMISE)
    first = record_verdict(claim=claim, status=get_status("open"), summary="Announced.")
    second = record_verdict(claim=claim, status=get_status("broken"), summary="Abandoned.")
    claim.refresh_from_db()
    assert claim.status.slug == "broken"
    assert list(claim.verdicts.newest_first()) == [second, first]
    change = second.status_change
    assert (change.from_status.slug, change.to_status.slug) == ("open", "broken")
    assert list(StatusChange.objects.filter(claim=claim).values_list("id", flat=True)) == sorted(
        [first.status_change.id, second.status_change.id]
    )


def test_a_status_from_the_other_scale_is_refused_and_nothing_is_saved(statuses):
    claim = make_claim(kind=Kind.FACT)
    with pytest.raises(ValidationError) as refused:
        record_verdict(
            claim=claim,
            status=get_status("kept"),
            summary="Kept.",
            evidence=[EvidenceItem(source=make_source())],
        )
    assert "accuracy" in str(refused.value.message_dict["status"]).lower()
    claim.refresh_from_db()
    assert claim.status is None
    assert (Verdict.objects.count(), Evidence.objects.count(), StatusChange.objects.count()) == (0, 0, 0)


def test_an_empty_summary_or_a_source_cited_twice_is_refused(statuses):
    claim = make_claim()
    source = make_source()
    with pytest.raises(ValidationError) as refused:
        record_verdict(
            claim=claim,
            status=get_status("true"),
            summary="  ",
            evidence=[EvidenceItem(source=source), EvidenceItem(source=source)],
        )
    assert set(refused.value.message_dict) == {"summary", "evidence"}
    assert Verdict.objects.count() == 0


def test_a_draft_changes_nothing_public_until_it_is_published(statuses):
    claim = make_claim()
    draft = record_verdict(claim=claim, status=get_status("true"), summary="Checks out.", publish=False)
    claim.refresh_from_db()
    assert (claim.status, claim.status_changed_at, draft.published_at) == (None, None, None)
    assert not Claim.objects.published().exists()
    assert StatusChange.objects.count() == 0

    publish_verdict(verdict=draft)
    claim.refresh_from_db()
    assert claim.status.slug == "true"
    assert Claim.objects.published().get() == claim
    assert StatusChange.objects.get().verdict == draft

    with pytest.raises(ValidationError):
        publish_verdict(verdict=draft)


def test_a_verdict_cannot_be_published_in_the_future_or_before_the_current_status(statuses):
    claim = make_claim()
    with pytest.raises(ValidationError) as refused:
        record_verdict(
            claim=claim,
            status=get_status("true"),
            summary="s",
            published_at=timezone.now() + timedelta(days=1),
        )
    assert "future" in str(refused.value)
    first = record_verdict(claim=claim, status=get_status("true"), summary="s")
    with pytest.raises(ValidationError) as refused:
        record_verdict(
            claim=claim,
            status=get_status("false"),
            summary="s",
            published_at=first.published_at - timedelta(hours=1),
        )
    assert "after it" in str(refused.value)
    assert Verdict.objects.count() == 1


def test_the_database_refuses_a_verdict_on_the_wrong_scale_even_without_the_service(statuses):
    claim = make_claim(kind=Kind.FACT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Verdict.objects.create(claim=claim, status=get_status("kept"), scale="tracking", summary="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Verdict.objects.create(claim=claim, status=get_status("kept"), scale="accuracy", summary="x")


def test_a_claim_with_verdicts_cannot_change_to_a_kind_of_the_other_scale(statuses):
    claim = make_claim(kind=Kind.FACT)
    record_verdict(claim=claim, status=get_status("true"), summary="s")
    claim.refresh_from_db()
    claim.kind = Kind.PROMISE
    with pytest.raises(IntegrityError), transaction.atomic():
        claim.save()


def test_published_verdicts_and_changes_cannot_be_rewritten_or_deleted(statuses):
    claim = make_claim()
    verdict = record_verdict(claim=claim, status=get_status("true"), summary="s")
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Verdict.objects.filter(pk=verdict.pk).update(summary="rewritten")
    with pytest.raises(IntegrityError, match="protected foreign keys"), transaction.atomic():
        Verdict.objects.filter(pk=verdict.pk).delete()
    # Below the ORM's PROTECT, the trigger still refuses.
    with (
        pytest.raises(IntegrityError, match="cannot be deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM claims_verdict WHERE id = %s", [verdict.pk])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StatusChange.objects.filter(verdict=verdict).update(published_at=timezone.now())
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StatusChange.objects.filter(verdict=verdict).delete()
    # Not even the same values again: nothing but claims.services writes history.
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Verdict.objects.filter(pk=verdict.pk).update(summary="s")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StatusChange.objects.filter(verdict=verdict).update(to_status=verdict.status)


def a_newsroom_zone_whose_date_is_not_utcs() -> str:
    """At any moment, one of these two zones (UTC+14 and UTC-11) is on another day than UTC."""
    utc_today = datetime.now(UTC).date()
    return next(
        zone
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
        if datetime.now(ZoneInfo(zone)).date() != utc_today
    )


def test_a_claim_said_after_today_in_the_newsrooms_time_zone_is_refused_and_nothing_is_saved(settings):
    settings.TIME_ZONE = a_newsroom_zone_whose_date_is_not_utcs()
    newsroom_today = datetime.now(ZoneInfo(settings.TIME_ZONE)).date()
    assert timezone.localdate() == newsroom_today
    speaker, source = make_speaker(), make_source()

    def save(said_on: date, slug: str) -> Claim:
        return save_claim(
            claim=Claim(speaker=speaker, source=source, slug=slug, text="Said.", said_on=said_on)
        )

    with pytest.raises(ValidationError) as refused:
        save(newsroom_today + timedelta(days=1), "tomorrow")
    assert refused.value.message_dict == {
        "said_on": [
            f"A claim cannot have been said in the future: today is {newsroom_today.day} "
            f"{newsroom_today:%B %Y} ({settings.TIME_ZONE})."
        ]
    }
    assert not Claim.objects.exists()
    # Today in the newsroom is allowed, whatever day it is in UTC; UTC's today too, when it is not later.
    assert save(newsroom_today, "today").said_on == newsroom_today
    utc_today = datetime.now(UTC).date()
    if utc_today > newsroom_today:
        with pytest.raises(ValidationError):
            save(utc_today, "utc-today")
    else:
        assert save(utc_today, "utc-today").said_on == utc_today

    claim = Claim.objects.get(slug="today")
    claim.said_on = newsroom_today + timedelta(days=1)
    with pytest.raises(ValidationError):
        save_claim(claim=claim)
    assert Claim.objects.get(slug="today").said_on == newsroom_today


def test_due_on_before_said_on_is_refused_by_the_database(statuses):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_claim(kind=Kind.PROMISE, said_on=date(2025, 5, 19), due_on=date(2025, 5, 18))
    with pytest.raises(IntegrityError), transaction.atomic():
        make_claim(kind=Kind.FACT, said_on=date(2025, 5, 19), due_on=date(2025, 6, 1))
    assert make_claim(kind=Kind.PROMISE, said_on=date(2025, 5, 19), due_on=date(2025, 5, 19)).pk


def test_search_covers_text_quote_and_the_speakers_current_name(statuses):
    speaker = make_speaker(name="Yuri Ushakov")
    claim = make_claim(speaker=speaker, text="A prisoner exchange is planned.", quote="in the works")
    make_claim(text="Something unrelated about ceasefire talks.")
    assert list(Claim.objects.search("prisoner")) == [claim]
    assert list(Claim.objects.search("works")) == [claim]
    assert list(Claim.objects.search("Ushakov prisoner")) == [claim]
    speaker.name = "Yuri V. Ouchakov"
    speaker.save()
    assert list(Claim.objects.search("Ouchakov")) == [claim]
    assert not Claim.objects.search("Ushakov").exists()


def test_search_ranks_a_match_in_the_text_above_one_in_the_quote(statuses):
    in_quote = make_claim(text="An agreement was reached.", quote="memorandum on peace")
    in_text = make_claim(text="Moscow will propose a memorandum.", quote="")
    assert list(Claim.objects.search("memorandum").order_by("-rank")) == [in_text, in_quote]


@pytest.mark.parametrize("text", ['"nine people', "a & b | !c :* ()", "Зеленский", "x" * 1000, "'", "-"])
def test_search_accepts_any_text(statuses, text):
    make_claim(text="Nine people each will be released.")
    assert isinstance(list(Claim.objects.search(text)), list)


def test_the_evidence_of_a_published_verdict_cannot_be_changed_added_or_removed(statuses):
    source, other = make_source(), make_source()
    verdict = record_verdict(
        claim=make_claim(), status=get_status("true"), summary="s", evidence=[EvidenceItem(source=source)]
    )
    evidence = verdict.evidence.get()
    with pytest.raises(IntegrityError, match="evidence of a published verdict"), transaction.atomic():
        Evidence.objects.filter(pk=evidence.pk).update(note="rewritten")
    with pytest.raises(IntegrityError, match="evidence of a published verdict"), transaction.atomic():
        Evidence.objects.create(verdict=verdict, source=other)
    with pytest.raises(IntegrityError, match="evidence of a published verdict"), transaction.atomic():
        Evidence.objects.filter(pk=evidence.pk).delete()
    assert list(verdict.evidence.values_list("source", "note")) == [(source.pk, "")]


def test_a_drafts_evidence_can_be_edited_until_it_is_published(statuses):
    source = make_source()
    draft = record_verdict(claim=make_claim(), status=get_status("true"), summary="s", publish=False)
    Evidence.objects.create(verdict=draft, source=source, note="first")
    Evidence.objects.filter(verdict=draft).update(note="second")
    publish_verdict(verdict=draft)
    assert list(draft.evidence.values_list("note", flat=True)) == ["second"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Evidence.objects.filter(verdict=draft).update(note="third")


def test_a_natural_key_dump_with_drafts_works(statuses, tmp_path):
    claim = make_claim()
    record_verdict(claim=claim, status=get_status("true"), summary="Published.")
    for n in range(2):
        record_verdict(
            claim=claim,
            status=get_status("false"),
            summary=f"Draft {n}.",
            evidence=[EvidenceItem(source=make_source())],
            publish=False,
        )
    dump = tmp_path / "claims.json"

    call_command("dumpdata", "claims", natural_foreign=True, natural_primary=True, output=str(dump))

    objects = json.loads(dump.read_text())
    drafts = [o for o in objects if o["model"] == "claims.verdict" and o["fields"]["published_at"] is None]
    assert sorted(d["fields"]["summary"] for d in drafts) == ["Draft 0.", "Draft 1."]
    assert all(isinstance(d["pk"], int) for d in drafts)  # no natural key: drafts share (claim, None)
    assert sum(o["model"] == "claims.evidence" for o in objects) == 2
